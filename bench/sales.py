"""``python -m bench.sales``: the whole sale alone, at each level, on a fresh (empty) store.

The production shape of the full run (``gunicorn --workers 4 --threads 4 app:app`` with
``python scheduler.py`` beside it) and the same load generator; for comparing two commits side
by side in a few minutes. ``DATABASE_URL`` as for the full run, ``BENCH_SALE_CLIENTS`` the
levels (default ``1,8,32``), ``BENCH_SALE_SECONDS`` each level's length (default 10).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from typing import Any

from bench import ticketing, web
from bench.backend import prepared_backend
from bench.config import Config
from bench.report import RESULTS_DIR
from ordering.bootstrap import build_services


def main() -> None:
    levels = [int(level) for level in os.environ.get("BENCH_SALE_CLIENTS", "1,8,32").split(",")]
    config = replace(Config.from_env(), sale_seconds=float(os.environ.get("BENCH_SALE_SECONDS", "10")),
                     warmup=2.0)
    logs = RESULTS_DIR / f"logs-sales-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    results: dict[int, Any] = {}
    with prepared_backend(os.environ.get("DATABASE_URL")) as backend:
        services = build_services(backend.settings)
        try:
            with web.serving_with_scheduler(backend, logs) as target:
                ticketing.skip_history(services)
                for clients in levels:
                    results[clients] = web.sales(target, services, config, clients)
                    print(f"sale at {clients}: {results[clients]['throughput']:.1f} sales/s, request p99 "
                          f"{results[clients]['latency']['all requests']['p99_ms']:.1f} ms, "
                          f"failures {results[clients]['failures']}", flush=True)
        finally:
            services.close()
    (logs / "sales.json").write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
