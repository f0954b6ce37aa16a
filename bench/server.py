"""Processes the benchmark starts and stops itself: gunicorn servers, the scheduler, the load."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
WORKERS = 4
THREADS = 4


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def stop(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM the process we started (gunicorn stops its workers), SIGKILL after ``grace``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def gunicorn(wsgi: str, env: dict[str, str], log: Path, ready_path: str = "/health/live",
             workers: int = WORKERS, threads: int = THREADS) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``python -m gunicorn --workers 4 --threads 4 <wsgi>`` on a free loopback port."""
    port = free_port()
    command = [PYTHON, "-m", "gunicorn", "--workers", str(workers), "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "10", wsgi]
    with log.open("ab") as output:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(process, port, ready_path, log)
        yield port, process
    finally:
        stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], port: int, path: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; see {log}")
        try:
            if _get(port, path) == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not up within 60 s; see {log}")


def worker_pids(master: subprocess.Popen[bytes]) -> list[int]:
    """The gunicorn workers: children of the master we started."""
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def run_load(spec: dict[str, Any], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """``python -m bench.load`` in its own process; returns its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
        json.dump(spec, file)
    try:
        finished = subprocess.run([PYTHON, "-m", "bench.load", file.name], cwd=ROOT, env=env,
                                  capture_output=True, timeout=timeout, check=False)
    finally:
        os.unlink(file.name)
    if finished.returncode != 0:
        raise RuntimeError(f"load generator failed: {finished.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(finished.stdout)
    return result


@contextmanager
def scheduler(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python scheduler.py``: the real expiry scheduler process."""
    with log.open("ab") as output:
        process = subprocess.Popen([PYTHON, "scheduler.py"], cwd=ROOT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        stop(process)
