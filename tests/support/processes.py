"""The production processes for fault tests: gunicorn and ``python scheduler.py``, started on a
given database URL (the proxy's), logging to files the test can quote when something fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from ordering.settings import Settings
from tests.conftest import JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def service_env(settings: Settings, database_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "POSTGRES_SCHEMA": settings.postgres_schema or "",
            "JWT_SECRET": JWT_SECRET, "ORDERS_INSTANCE_DIR": str(tmp_path), "POSTGRES_POOL_SIZE": "4",
            "DB_POOL_TIMEOUT_SECONDS": "2", **extra}


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Gunicorn:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid)

    def tail(self) -> str:
        return log_tail(self.log)


def children_of(pid: int) -> list[int]:
    """Live child processes of ``pid``, from /proc (no psutil)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state, ppid, ...
        if len(fields) > 1 and int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return sorted(found)


@contextmanager
def gunicorn(env: Mapping[str, str], log: Path, workers: int = 2, threads: int = 4,
             ready_seconds: float = 30, options: Sequence[str] = ()) -> Iterator[Gunicorn]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:ordering.http.gunicorn_config", *options,
             "--workers", str(workers), "--threads", str(threads),
             "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "5", "app:app"],
            cwd=ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    server = Gunicorn(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_until_ready(server, ready_seconds)
        yield server
    finally:
        stop(process)


def wait_until_ready(server: Gunicorn, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({server.process.returncode}):\n{server.tail()}")
        try:
            if requests.get(f"{server.base}/health/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become ready in {seconds} s:\n{server.tail()}")


def start_scheduler(env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "scheduler.py"], cwd=ROOT, env=dict(env),
                                stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes], seconds: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
