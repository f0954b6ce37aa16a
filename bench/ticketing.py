"""Ticket groups under the sale load: the lag from an order's confirmation to its groups.

The follower runs where production runs it, in ``python scheduler.py`` beside the gunicorn
server. Its position is first moved to the head of the log, so the orders seeded for the
searches (written straight to the store) are not followed. The lag of one confirmation is the
time from its event (``OrderConfirmed``, stamped in the web worker) to the first group event it
caused (``GroupCreated``, stamped by the follower, which names the confirmation it follows).
"""

from __future__ import annotations

import time
from typing import Any

from eventsourcing.persistence import Tracking

from bench.stats import summary
from ordering.bootstrap import Services
from ordering.domain.order import Order
from ordering.domain.ticketing import TicketDistributionGroup
from projections.ticket_groups import TRACKING_NAME, TicketGroupProjector

PAGE = 5000
CONFIRMED_TOPICS = tuple(f"{Order.__module__}:Order.{name}" for name in ("OrderConfirmed", "OrderFailed"))
CREATED_TOPIC = f"{TicketDistributionGroup.__module__}:TicketDistributionGroup.GroupCreated"


def skip_history(services: Services) -> int:
    """Move the follower's position to the head of the log (the seeded orders are not followed)."""
    head = services.application.recorder.max_notification_id() or 0
    projector = TicketGroupProjector(services.application)
    if projector.position() < head:
        projector.recorder.insert_tracking(Tracking(TRACKING_NAME, head))
    return head


def wait_caught_up(services: Services, until: int, seconds: float = 120.0) -> bool:
    projector = TicketGroupProjector(services.application)
    deadline = time.monotonic() + seconds
    while projector.position() < until:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def group_lag(services: Services, start: int, stop: int) -> dict[str, Any]:
    """Lag of every confirmation stored in (start, stop], once the follower passed ``stop``."""
    caught_up = wait_caught_up(services, stop)
    app = services.application
    confirmed: dict[str, Any] = {}
    made: dict[str, Any] = {}
    codes: dict[Any, str] = {}
    position = start
    while True:
        page = app.recorder.select_notifications(start=position, limit=PAGE, inclusive_of_start=False,
                                                 topics=[*CONFIRMED_TOPICS, CREATED_TOPIC])
        for notification in page:
            event: Any = app.mapper.to_domain_event(notification)
            if notification.topic == CREATED_TOPIC:
                made.setdefault(event.context["causationId"], event.timestamp)
            elif notification.id <= stop:
                confirmed[_cause(app, notification, codes)] = event.timestamp
        if len(page) < PAGE:
            break
        position = page[-1].id
    lags = [(made[cause] - at).total_seconds() for cause, at in confirmed.items() if cause in made]
    return summary(lags) | {"confirmations": len(confirmed), "without_groups": len(confirmed) - len(lags),
                            "caught_up": caught_up}


def _cause(app: Any, notification: Any, codes: dict[Any, str]) -> str:
    """The causation id the follower gives the groups this confirmation leads to."""
    if notification.originator_id not in codes:
        order: Order = app.repository.get(notification.originator_id, version=1)
        codes[notification.originator_id] = order.code
    return f"{codes[notification.originator_id]}:{notification.originator_version}"


def describe(backend: str, clients: int, throughput: float, lag: dict[str, Any]) -> str:
    nan = float("nan")
    return (f"{backend} {clients:>2} clients: {throughput:6.1f} sales/s; groups after confirmation "
            f"p50 {lag.get('p50_ms', nan):6.1f} ms, p99 {lag.get('p99_ms', nan):6.1f} ms, max "
            f"{lag.get('max_ms', nan):6.1f} ms ({lag.get('count', 0)} of {lag['confirmations']} "
            "confirmations)")


def main() -> None:
    """``python -m bench.ticketing``: only the sale load and its ticket-group lag, in a minute or
    so (``BENCH_QUICK=1`` sizes; ``DATABASE_URL`` picks PostgreSQL as for ``make bench``)."""
    import os
    import tempfile
    from pathlib import Path

    from bench import server, web
    from bench.backend import prepared_backend
    from bench.config import Config
    from ordering.bootstrap import build_services

    config = Config.from_env()
    logs = Path(tempfile.mkdtemp(prefix="bench-ticketing-"))
    with prepared_backend(os.environ.get("DATABASE_URL")) as backend:
        services = build_services(backend.settings)
        env = backend.server_env()
        try:
            with server.gunicorn("app:app", env, logs / "service.log", "/health/ready") as (port, _), \
                    server.scheduler(env | {"ORDER_EXPIRY_INTERVAL_SECONDS": "3600"}, logs / "followers.log"):
                target = web.Target(port, env)
                start = skip_history(services)
                for clients in config.concurrency:
                    sales = web.sales(target, services, config, clients)
                    stop = services.application.recorder.max_notification_id() or 0
                    lag = group_lag(services, start, stop)
                    start = stop
                    print(describe(backend.name, clients, sales["throughput"], lag), flush=True)
        finally:
            services.close()


if __name__ == "__main__":
    main()
