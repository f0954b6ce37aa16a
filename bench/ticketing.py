"""Ticket groups under the sale load: the lag from an order's confirmation to its groups.

The follower runs where production runs it, in ``python scheduler.py`` beside the gunicorn
server. Its position is first moved to the head of the log, so the orders seeded for the
searches (written straight to the store) are not followed. The lag of one confirmation is the
time from its event (stamped in the web worker) to the first group event it caused
(``GroupCreated`` or ``GroupCancelled``, stamped by the follower, which names the order event it
follows in its ``causationId``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking

from bench.stats import summary
from ordering.bootstrap import Services
from ordering.domain.order import Order
from ordering.domain.order_ids import order_uuid
from ordering.domain.ticketing import TicketDistributionGroup
from projections.ticket_groups import TRACKING_NAME, TicketGroupProjector

PAGE = 5000
CONFIRMED_TOPICS = tuple(f"{Order.__module__}:Order.{name}" for name in ("OrderConfirmed", "OrderFailed"))
GROUP_TOPIC = f"{TicketDistributionGroup.__module__}:TicketDistributionGroup.{{}}"
MADE, CANCELLED = ("GroupCreated",), ("GroupCancelled",)  # a sale or a change makes groups, a refund cancels
Cause = tuple[UUID, int]  # an order event: the order's id and the event's version


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


def _pages(app: Any, start: int, stop: int | None = None, topics: Sequence[str] = ()) -> Iterator[Any]:
    position = start
    while True:
        page = app.recorder.select_notifications(start=position, limit=PAGE, stop=stop, topics=topics,
                                                 inclusive_of_start=False)
        yield from page
        if len(page) < PAGE:
            return
        position = page[-1].id


def _group_causes(app: Any, start: int, kinds: Sequence[str], order_version: int) -> dict[Cause, datetime]:
    """The order event each group event of ``kinds`` after ``start`` follows (its
    ``causationId``: order code and event version), with the first such group event's time;
    groups made for an order version below ``order_version`` are left out."""
    made: dict[Cause, datetime] = {}
    for notification in _pages(app, start, topics=[GROUP_TOPIC.format(kind) for kind in kinds]):
        event: Any = app.mapper.to_domain_event(notification)
        if getattr(event, "order_version", order_version) < order_version:
            continue
        code, _, version = str(event.context["causationId"]).rpartition(":")
        made.setdefault((order_uuid(code), int(version)), event.timestamp)
    return made


def group_lag(services: Services, start: int, stop: int, kinds: Sequence[str] = MADE,
              order_version: int = 1) -> dict[str, Any]:
    """From each order event stored in (start, stop] that led to ticket-group events of
    ``kinds`` to the first of them, once the follower passed ``stop``: a sale's confirmation
    makes groups (``GroupCreated``), a change's makes them for version 2 (``order_version=2``,
    so the sales that prepared its orders are left out), a refund's cancels them."""
    caught_up = wait_caught_up(services, stop)
    app = services.application
    made = _group_causes(app, start, kinds, order_version)
    lags, confirmations = [], 0
    for notification in _pages(app, start, stop):
        confirmations += notification.topic in CONFIRMED_TOPICS
        cause = (UUID(str(notification.originator_id)), notification.originator_version)
        if cause in made:
            event: Any = app.mapper.to_domain_event(notification)
            lags.append((made[cause] - event.timestamp).total_seconds())
    return summary(lags) | {"confirmations": confirmations, "caught_up": caught_up, "kinds": list(kinds),
                            "order_version": order_version,
                            "without_groups": max(0, confirmations - len(lags))}


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

    from bench import web
    from bench.backend import prepared_backend
    from bench.config import Config
    from ordering.bootstrap import build_services

    config = Config.from_env()
    logs = Path(tempfile.mkdtemp(prefix="bench-ticketing-"))
    with prepared_backend(os.environ.get("DATABASE_URL")) as backend:
        services = build_services(backend.settings)
        try:
            with web.serving_with_scheduler(backend, logs) as target:
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
