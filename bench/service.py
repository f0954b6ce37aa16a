"""The scenarios against the service: ``gunicorn --workers 4 --threads 4 app:app`` with the real
``python scheduler.py`` beside it (it follows the log into ticket groups), and the bare baseline."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import memory, profile, server, ticketing, web
from bench.backend import Backend
from bench.config import Config
from bench.searchcheck import exact_totals
from bench.seed import SeedPlan
from bench.server import gunicorn
from ordering.bootstrap import Services

Say = Callable[[str], None]
Scenario = Callable[[web.Target, Services, Config, int], dict[str, Any]]


def _followed(services: Services, start: int, result: dict[str, Any],
              kinds: tuple[str, ...] = ticketing.MADE, order_version: int = 1) -> int:
    """The ticket-group lag of what the scenario just stored; the next one starts here."""
    stop = services.application.recorder.max_notification_id() or 0
    result["group_lag"] = ticketing.group_lag(services, start, stop, kinds, order_version)
    return stop


# each after-sales scenario: what it does, and the ticket-group events it leads to
AFTER_SALES: dict[str, tuple[Scenario, tuple[str, ...], int]] = {
    "change": (web.changes, ticketing.MADE, 2),  # a line added: its group, made for version 2
    "refund": (web.refunds, ticketing.CANCELLED, 1),  # the refunded line's group cancelled
}


def _levels(name: str, levels: tuple[int, ...], target: web.Target, services: Services, config: Config,
            start: int, say: Say) -> tuple[dict[int, Any], int]:
    """A change or a refund at each level, and the lag to the ticket-group events it causes."""
    scenario, kinds, order_version = AFTER_SALES[name]
    results: dict[int, Any] = {}
    for clients in levels:
        results[clients] = scenario(target, services, config, clients)
        start = _followed(services, start, results[clients], kinds, order_version)
        say(f"{name} at {clients}: {results[clients]['throughput']:,.1f}/s")
    return results, start


def _sales(target: web.Target, services: Services, config: Config, master: subprocess.Popen[bytes],
           logs: Path, start: int, say: Say) -> tuple[dict[str, Any], int]:
    """The whole sale at each concurrency (py-spy on the level ``BENCH_PROFILE`` names), the
    workers' memory after the last (32 clients), then the sell-out of one small departure."""
    results: dict[str, Any] = {"sales": {}}
    for clients in config.concurrency:
        with profile.recording(master, clients, logs):
            results["sales"][clients] = web.sales(target, services, config, clients)
        start = _followed(services, start, results["sales"][clients])
        say(f"sale at {clients}: {results['sales'][clients]['throughput']:,.1f} sales/s")
    results["memory"] = memory.workers_rss(master) | {"after": f"sale at {config.concurrency[-1]} clients"}
    results["sellout"] = web.sellout(target, services, config)
    start = _followed(services, start, results["sellout"])
    seats = results["sellout"]["seats"]
    say(f"sell-out at {config.sellout_clients}: {results['sellout']['throughput']:,.1f} sales/s, "
        f"{seats['held']} of {seats['capacity']} seats held, {seats['spurious_conflicts']} spurious 409")
    return results, start


def measure_service(backend: Backend, config: Config, plan: SeedPlan, services: Services, logs: Path,
                    say: Say) -> dict[str, Any]:
    results: dict[str, Any] = {}
    env = backend.server_env()
    with gunicorn("app:app", env, logs / "service.log", "/health/ready") as (port, master):
        target = web.Target(port, env)
        results["searches"] = web.searches(target, config, plan)
        results["search_totals"] = exact_totals(services, results["searches"])
        say("searches done")
        with server.scheduler(env | {"ORDER_EXPIRY_INTERVAL_SECONDS": "3600"}, logs / "followers.log"):
            start = ticketing.skip_history(services)  # ticket groups: followed by the scheduler process
            sold, start = _sales(target, services, config, master, logs, start, say)
            results |= sold
            results["changes"], start = _levels("change", config.concurrency, target, services, config,
                                                start, say)
            results["refunds"], start = _levels("refund", config.refund_concurrency, target, services, config,
                                                start, say)
        results["read_your_writes"] = {clients: web.read_your_writes(target, config, clients)
                                       for clients in config.search_concurrency}
        say("read your writes done")
        results["readiness"] = services.read_model.position()
    return results


def measure_bare(backend: Backend, config: Config, logs: Path, say: Say) -> dict[Any, Any]:
    """Baseline (b): the bare Flask insert endpoint under the same gunicorn settings and load,
    and its workers' memory after the last level."""
    results: dict[Any, Any] = {}
    env = backend.server_env()
    with gunicorn("bench.bare_app:app", env, logs / "bare.log") as (port, master):
        target = web.Target(port, env)
        for clients in config.concurrency:
            results[clients] = web.bare_inserts(target, config, clients)
            say(f"bare Flask insert at {clients}: {results[clients]['throughput']:,.0f}/s")
        results["memory"] = memory.workers_rss(master)
    return results
