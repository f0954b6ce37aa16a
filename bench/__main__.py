"""``python -m bench``: every scenario and baseline in one run, then a table and a JSON file."""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import baselines, figures, history, profile, server, ticketing, web
from bench.backend import Backend, prepared_backend
from bench.config import Config
from bench.expiry import expiry
from bench.readmodel import build_search_data
from bench.report import RESULTS_DIR, table, write_json
from bench.seed import SeedPlan
from bench.server import ROOT, gunicorn
from ordering.bootstrap import build_services

STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.0f} s] {message}", flush=True)


def machine(backend: Backend) -> dict[str, Any]:
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                            text=True, check=False).stdout.strip()
    info: dict[str, Any] = {"backend": backend.name, "cores": os.cpu_count(), "commit": commit,
                            "python": platform.python_version(), "started": datetime.now(UTC).isoformat()}
    if backend.settings.is_postgres:
        with backend.connect() as connection:
            row = connection.execute("SHOW server_version").fetchone()
            info["postgresql"] = row[0] if row else None
    return info


def measure_baselines(backend: Backend, config: Config) -> dict[str, Any]:
    baselines.create_raw_table(backend.settings)
    raw, library = {}, {}
    for clients in config.concurrency:
        raw[clients] = baselines.raw_inserts(backend.settings, clients, config.baseline_seconds)
        library[clients] = baselines.library_saves(backend.settings, clients, config.baseline_seconds)
        say(f"baselines at {clients}: raw insert {raw[clients]['throughput']:,.0f}/s, "
            f"library save {library[clients]['throughput']:,.0f}/s")
    return {"raw": raw, "library": library}


def measure_service(backend: Backend, config: Config, plan: SeedPlan, services: Any,
                    logs: Path) -> dict[str, Any]:
    """Scenarios 1-3 against ``gunicorn --workers 4 --threads 4 app:app``."""
    results: dict[str, Any] = {"sales": {}, "changes": {}}
    env = backend.server_env()
    with gunicorn("app:app", env, logs / "service.log", "/health/ready") as (port, master):
        target = web.Target(port, env)
        results["searches"] = web.searches(target, config, plan)
        say("searches done")
        with server.scheduler(env | {"ORDER_EXPIRY_INTERVAL_SECONDS": "3600"}, logs / "followers.log"):
            start = ticketing.skip_history(services)  # ticket groups: followed by the scheduler process
            for clients in config.concurrency:
                with profile.recording(master, clients, logs):
                    results["sales"][clients] = web.sales(target, services, config, clients)
                say(f"sale at {clients}: {results['sales'][clients]['throughput']:,.1f} sales/s")
                stop = services.application.recorder.max_notification_id() or 0
                results["sales"][clients]["group_lag"] = ticketing.group_lag(services, start, stop)
                start = stop
        for clients in config.concurrency:
            results["changes"][clients] = web.changes(target, services, config, clients)
            say(f"change at {clients}: {results['changes'][clients]['throughput']:,.1f} changes/s")
        results["readiness"] = services.read_model.position()
    return results


def measure_bare(backend: Backend, config: Config, logs: Path) -> dict[int, Any]:
    """Baseline (b): the bare Flask insert endpoint under the same gunicorn settings and load."""
    results = {}
    env = backend.server_env()
    with gunicorn("bench.bare_app:app", env, logs / "bare.log") as (port, _):
        target = web.Target(port, env)
        for clients in config.concurrency:
            results[clients] = web.bare_inserts(target, config, clients)
            say(f"bare Flask insert at {clients}: {results[clients]['throughput']:,.0f}/s")
    return results


def run(config: Config, backend: Backend, logs: Path) -> dict[str, Any]:
    details: dict[str, Any] = {"config": vars(config), "machine": machine(backend)}
    say(f"benchmark on {backend.name} ({'quick' if config.quick else 'full'}); logs in {logs}")
    details["baselines"] = measure_baselines(backend, config)
    services = build_services(backend.settings)
    try:
        plan = SeedPlan(config.orders, datetime.now(UTC))
        details["read_model"] = build_search_data(backend.settings, services, config, plan, say)
        details["service"] = measure_service(backend, config, plan, services, logs)
        details["baselines"]["bare"] = measure_bare(backend, config, logs)
        details["history"] = history.long_history(backend.settings, config.history_events,
                                                   config.history_loads)
        say("long history done")
        details["expiry"] = expiry(backend, services, config, logs / "scheduler.log")
        say(f"expiry: {details['expiry']['expired']:,} of {details['expiry']['orders']:,} expired")
    finally:
        services.close()
    return details


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")  # so the schema, servers and files are cleaned up


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    config = Config.from_env()
    logs = RESULTS_DIR / f"logs-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    with prepared_backend(os.environ.get("DATABASE_URL")) as backend:
        details = run(config, backend, logs)
    rows = figures.rows(details, config)
    details["total_seconds"] = time.monotonic() - STARTED
    path = write_json(rows, details)
    print()
    print(table(rows))
    print()
    print(figures.request_table(details, config))
    print(f"\nresults: {path} (total {details['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
