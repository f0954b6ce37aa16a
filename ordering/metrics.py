"""The service's Prometheus metrics, one place for every process kind.

Under gunicorn every worker writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (set by
``ordering.http.gunicorn_config`` before anything imports ``prometheus_client``) and ``/metrics``
adds them up across workers. Gauges computed at scrape time (read-model and expiry lag, who
leads the scheduler) are collected in ``ordering.http.metrics``, from the database, so any
worker answers the same.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter("order_service_http_requests", "HTTP requests answered, by route, method and status",
                   ["route", "method", "status"])
LATENCY = Histogram("order_service_http_request_duration_seconds",
                    "Time to answer an HTTP request, by route, method and status",
                    ["route", "method", "status"], buckets=LATENCY_BUCKETS)
PROBLEMS = Counter("order_service_http_problems", "Problem answers by status and code (e.g. 409 "
                   "CONCURRENT_MODIFICATION)", ["status", "code"])
COMMANDS = Counter("order_service_commands", "Commands run, by outcome: saved, unchanged, conflict "
                   "(409 CONCURRENT_MODIFICATION after the retries), unavailable", ["outcome"])
RETRIES = Counter("order_service_command_retries", "Version conflicts met by commands (each runs the "
                  "command again on fresh state, up to the limit)")
IDEMPOTENCY_REPLAYS = Counter("order_service_idempotency_replays",
                              "Answers replayed for a repeated Idempotency-Key")
SWEEPS = Counter("order_service_expiry_sweeps", "Expiry sweeps run by the leading scheduler")
EXPIRED = Counter("order_service_orders_expired", "Orders expired by the sweeps")
LEADER = Gauge("order_service_scheduler_leader", "1 while this scheduler process leads the sweeps",
               multiprocess_mode="liveall")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_registry() -> CollectorRegistry:
    """This process's metrics, or every gunicorn worker's added up in multiprocess mode."""
    directory = multiprocess_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry
