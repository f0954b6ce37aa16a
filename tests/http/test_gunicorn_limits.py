"""What gunicorn refuses by itself (oversized request lines and headers, unparseable requests)
is answered cheaply and still as a problem body."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordering.bootstrap import create_schema
from tests.conftest import JWT_SECRET, make_settings
from tests.support.processes import gunicorn


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, int]]:
    create_schema(make_settings("sqlite", tmp_path))
    env = {**os.environ, "JWT_SECRET": JWT_SECRET, "ORDERS_INSTANCE_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    with gunicorn(env, tmp_path / "gunicorn.log", workers=1, threads=1,
                  options=("-c", "python:ordering.http.gunicorn_config")) as running:
        host, port = running.base.removeprefix("http://").split(":")
        yield host, int(port)


def raw_exchange(address: tuple[str, int], request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(("request_bytes", "status", "code"), [
    (b"GET /v1/orders?" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "URI_TOO_LONG"),
    (b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % n for n in range(60))
     + b"\r\n", 431, "HEADERS_TOO_LARGE"),
    (b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431,
     "HEADERS_TOO_LARGE"),
    (b"NOT A REQUEST LINE\r\n\r\n", 400, "VALIDATION_FAILED"),
])
def test_what_gunicorn_refuses_itself_is_a_problem_body(
        server: tuple[str, int], request_bytes: bytes, status: int, code: str) -> None:
    answered, headers, body = raw_exchange(server, request_bytes)
    assert answered == status
    assert headers["Content-Type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["correlationId"] == headers["X-Correlation-Id"]
