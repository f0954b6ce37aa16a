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

from bench import baselines, history, service, show
from bench.backend import Backend, prepared_backend
from bench.config import Config
from bench.expiry import expiry
from bench.readmodel import build_search_data
from bench.report import RESULTS_DIR, write_json
from bench.seed import SeedPlan
from bench.server import ROOT
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


def run(config: Config, backend: Backend, logs: Path) -> dict[str, Any]:
    details: dict[str, Any] = {"config": vars(config), "machine": machine(backend)}
    say(f"benchmark on {backend.name} ({'quick' if config.quick else 'full'}); logs in {logs}")
    details["baselines"] = measure_baselines(backend, config)
    services = build_services(backend.settings)
    try:
        plan = SeedPlan(config.orders, datetime.now(UTC))
        details["read_model"] = build_search_data(backend.settings, services, config, plan, say)
        details["service"] = service.measure_service(backend, config, plan, services, logs, say)
        details["baselines"]["bare"] = service.measure_bare(backend, config, logs, say)
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
    details["total_seconds"] = time.monotonic() - STARTED
    path = write_json([], details)  # kept even if a table below fails: python -m bench.show FILE
    rows, text = show.tables(details, config)
    path = write_json(rows, details, path)
    print()
    print(text)
    print(f"\nresults: {path} (total {details['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
