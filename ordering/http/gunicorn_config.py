"""gunicorn settings for the service: ``gunicorn -c python:ordering.http.gunicorn_config app:app``.

Oversized request lines and headers are refused by gunicorn itself, cheaply, before any of our
code runs. What gunicorn answers on its own (a request it cannot parse: 400; a request line
over the limit: 414; too many or too large headers: 431) is written as problem+json here
instead of its HTML page, so clients get one shape of error whatever refused them.
Imported by gunicorn's master before it forks: nothing here opens a connection.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from gunicorn import util

from ordering.logs import gunicorn_logconfig

limit_request_line = 4094  # bytes of "GET /path?query HTTP/1.1"; over it: 414
limit_request_fields = 50  # headers per request; over it: 431
limit_request_field_size = 8190  # bytes per header; over it: 431
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn/gunicorn.ctl): a second
# instance on the same host would take it over. The service does not use it.
control_socket_disable = True
# gunicorn's own lines in the service's JSON format (LOG_LEVEL); the access line is the service's.
logconfig_dict = gunicorn_logconfig()


MADE_HERE = "order-service-metrics-"


def on_starting(server: Any) -> None:
    """Metrics (prometheus_client's multiprocess mode): the workers write their figures to files
    in ``PROMETHEUS_MULTIPROC_DIR``, the one given or a fresh one for this instance, set here in
    the master before any worker imports prometheus_client. An instance starts from zero: metric
    files an earlier one left there go."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    directory = Path(given) if given else Path(tempfile.mkdtemp(prefix=MADE_HERE))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits stops counting in the live gauges (its counters stay summed)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """The directory made for this instance goes with it (one given is left as it is)."""
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""))
    if directory.name.startswith(MADE_HERE):
        shutil.rmtree(directory, ignore_errors=True)


CODE_OF_STATUS = {400: "VALIDATION_FAILED", 403: "FORBIDDEN", 414: "URI_TOO_LONG",
                  431: "HEADERS_TOO_LARGE", 500: "INTERNAL_ERROR"}


def problem_answer(status: int, reason: str, detail: str) -> bytes:
    """The raw HTTP answer gunicorn sends when it refuses a request itself."""
    correlation_id = str(uuid.uuid4())
    code = CODE_OF_STATUS.get(status, "BAD_REQUEST" if status < 500 else "INTERNAL_ERROR")
    body = json.dumps({
        "type": f"/problems/{code.lower().replace('_', '-')}", "title": reason, "status": status,
        "detail": detail[:200] or reason, "code": code, "correlationId": correlation_id,
    }).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n"
            f"X-Correlation-Id: {correlation_id}\r\n\r\n")
    return head.encode("latin1") + body


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    util.write_nonblock(sock, problem_answer(status_int, reason, mesg))


util.write_error = write_problem
