"""The scheduler for real: ``python scheduler.py`` processes against PostgreSQL, one killed
mid-run, and the embedded scheduler inside the web app on SQLite. Real clock, short expiries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ordering.bootstrap import Services, build_services
from ordering.domain.policy import utcnow
from ordering.http.factory import create_app
from ordering.scheduling import EXPIRY_DUTY
from ordering.settings import Settings
from tests.builders import a_line, context_of
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CTX = context_of(1)


def orders_expiring_in(services: Services, seconds: float, count: int) -> list[str]:
    """Orders with an unconfirmed line and a client-chosen expireAt a few seconds ahead."""
    app = services.application
    codes = []
    for _ in range(count):
        code = app.create_order(CTX, expire_at=utcnow() + timedelta(seconds=seconds)).code
        app._change(code, CTX, lambda o: o.add_lines([a_line()], utcnow(), utcnow(), CTX.as_event_data()))
        codes.append(code)
    return codes


def expirations(services: Services, code: str) -> int:
    trail = services.application.order_trail(code, 1)
    return [type(e.event).__name__ for e in trail].count("OrderExpired")


def start_scheduler(settings: Settings, tmp_path: Path, log: Path | None = None,
                    extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "POSTGRES_SCHEMA": settings.postgres_schema or "", "ORDERS_INSTANCE_DIR": str(tmp_path),
           "ORDER_EXPIRY_INTERVAL_SECONDS": "0.3", "POSTGRES_POOL_SIZE": "2", "LOG_LEVEL": "INFO",
           **(extra or {})}
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen([sys.executable, "scheduler.py"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


def logged(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@pytest.mark.postgres
def test_only_the_leading_scheduler_logs_its_sweeps(postgres_settings: Settings, tmp_path: Path) -> None:
    services = build_services(postgres_settings)
    logs = [tmp_path / "scheduler-a.log", tmp_path / "scheduler-b.log"]
    schedulers = [start_scheduler(postgres_settings, tmp_path, log) for log in logs]
    try:
        codes = orders_expiring_in(services, 1, 3)
        assert wait_for(lambda: all(expirations(services, c) for c in codes), 20)
        time.sleep(1)  # several more turns for both, nothing due
    finally:
        for process in schedulers:  # both at once: the stand-by is not left to take over
            process.terminate()
        for process in schedulers:
            process.wait(timeout=20)
        services.close()
    entries = [logged(log) for log in logs]
    def expiry(entry: dict[str, Any]) -> bool:
        return entry.get("duty") == EXPIRY_DUTY

    leaders = [n for n, lines in enumerate(entries)
               if any(e.get("leader") is True and expiry(e) for e in lines)]
    assert len(leaders) == 1, entries
    follower = entries[1 - leaders[0]]
    assert not any(e["message"].startswith("expiry sweep") for e in follower)
    sweeps = [e for e in entries[leaders[0]] if e["message"].startswith("expiry sweep")]
    assert sweeps and sum(e["expired"] for e in sweeps) == 3
    assert sorted(c for e in sweeps for c in e["orderIds"]) == sorted(codes)
    assert [e["leader"] for e in entries[leaders[0]] if expiry(e)][-1] is False  # it says when it stops


@pytest.mark.postgres
def test_scheduler_processes_expire_every_due_order_once_even_when_one_is_killed(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    services = build_services(postgres_settings)
    schedulers = [start_scheduler(postgres_settings, tmp_path) for _ in range(2)]
    try:
        early = orders_expiring_in(services, 1, 5)
        assert wait_for(lambda: all(expirations(services, c) for c in early), 20)
        schedulers[0].send_signal(signal.SIGKILL)  # whichever led, the other must take over
        later = orders_expiring_in(services, 1, 5)
        assert wait_for(lambda: all(expirations(services, c) for c in later), 20)
        schedulers[0].wait(timeout=10)
        schedulers[0] = start_scheduler(postgres_settings, tmp_path)
        not_yet = orders_expiring_in(services, 3600, 2)
        time.sleep(1.5)
        assert [expirations(services, c) for c in early + later] == [1] * 10
        assert [expirations(services, c) for c in not_yet] == [0, 0]  # none early
    finally:
        for process in schedulers:
            process.terminate()
            process.wait(timeout=20)
        services.close()


def test_the_embedded_scheduler_expires_orders_inside_the_web_process(sqlite_settings: Settings) -> None:
    settings = replace(sqlite_settings, embedded_scheduler=True, expiry_interval_seconds=0.2)
    app = create_app(settings)
    try:
        services = app.extensions["ordering"].services()
        codes = orders_expiring_in(services, 1, 3)
        assert wait_for(lambda: all(expirations(services, c) == 1 for c in codes), 15)
    finally:
        app.extensions["ordering-scheduler"].shutdown(wait=True)
        app.extensions["ordering-followers"].stop()
        app.extensions["ordering"].close()
