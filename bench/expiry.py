"""Scenario 6: many orders fall due at once; the real scheduler process expires them.

The lag of an order is its ``OrderExpired`` event's timestamp minus its ``expireAt``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.backend import Backend, prepared_backend
from bench.config import Config
from bench.offers import BENCH_SEATS, TRAVELLERS, loaded, sale_offer
from bench.report import RESULTS_DIR
from bench.seed import SAVE_BATCH
from bench.server import scheduler
from bench.stats import summary
from ordering.application.base import seat_kwargs
from ordering.bootstrap import Services, build_services
from ordering.domain.inventory import SeatChanges
from ordering.domain.offer import Offer
from ordering.domain.order import Order
from ordering.domain.order_ids import new_order_code
from ordering.domain.policy import utcnow
from ordering.domain.reserving import OfferConfiguration, plan_lines
from projections.orders import ORDER_TOPIC_PREFIX, micros
from projections.schema import orders_table

DEPARTURES = 10
EXPIRED_TOPIC = f"{ORDER_TOPIC_PREFIX}OrderExpired"


def _due_order(offer: Offer, now: datetime, due: datetime) -> tuple[Order, SeatChanges]:
    ctx = {"correlationId": "expiry-seed", "clientName": "bench", "organisationId": 2, "subject": "bench",
           "pos": "Entur-APP", "distributionChannelId": "ENT:DistributionChannel:Web"}
    order = Order(code=new_order_code(), organisation_id=2, created_by="bench", pos="Entur-APP",
                  distribution_channel_id="ENT:DistributionChannel:Web", currency="NOK", created_at=now,
                  expire_at=due, expire_at_set_by_client=False, contact_info=None,
                  external_reference=None, context=ctx)
    additions = plan_lines(offer, OfferConfiguration(offer.offer_id, TRAVELLERS[:1]), now)
    order.add_lines(additions, now, due, ctx)
    return order, SeatChanges.holding(order.code, [r for a in additions for r in a.reservations])


def seed_due_orders(services: Services, count: int, due: datetime) -> set[UUID]:
    """``count`` draft orders, each holding a seat on one of ten departures, all due at ``due``."""
    application = services.application
    now = application.clock()
    offers = [Offer(loaded(sale_offer(f"expiry-{n}", now))) for n in range(DEPARTURES)]
    for offer in offers:
        application.set_capacity(offer.data["legs"][0]["datedServiceJourneyId"], BENCH_SEATS)
    ids: set[UUID] = set()
    for start in range(0, count, SAVE_BATCH):
        made = [_due_order(offers[i % DEPARTURES], now, due)
                for i in range(start, min(start + SAVE_BATCH, count))]
        orders = [order for order, _ in made]
        application.save(*orders, **seat_kwargs(sum((seats for _, seats in made), SeatChanges())))
        ids.update(order.id for order in orders)
    services.read_model.catch_up()
    return ids


def _still_due(services: Services, due: datetime) -> int:
    table = orders_table(services.read_model.projector.active_generation())
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE has_unconfirmed = 1 AND expire_at <= ?",
                       (micros(due),))
        return int(cursor.fetchone()[0])


def _expired_events(services: Services, after: int, ids: set[UUID]) -> list[Any]:
    recorder, mapper = services.application.recorder, services.application.mapper
    found: list[Any] = []
    while True:
        page = recorder.select_notifications(start=after, limit=2000, topics=[EXPIRED_TOPIC],
                                             inclusive_of_start=False)
        for notification in page:
            event: Any = mapper.to_domain_event(notification)
            if event.originator_id in ids:
                found.append(event)
        if len(page) < 2000:
            return found
        after = page[-1].id


def expiry(backend: Backend, services: Services, config: Config, log: Path) -> dict[str, Any]:
    """Seed, start ``python scheduler.py`` (default settings: it wakes when they fall due)
    before the orders fall due, wait."""
    started = utcnow()
    due = started + timedelta(seconds=config.expiry_lead_seconds)
    listeners = list(services.application.after_save)
    services.application.after_save.clear()
    try:
        ids = seed_due_orders(services, config.expiry_orders, due)
    finally:
        services.application.after_save.extend(listeners)
    seeded_at = utcnow()
    head = services.application.recorder.max_notification_id() or 0
    env = backend.server_env()
    deadline = time.monotonic() + config.expiry_lead_seconds + config.expiry_time_limit
    with scheduler(env, log):
        while time.monotonic() < deadline and (utcnow() < due or _still_due(services, due) > 0):
            time.sleep(0.5)
    events = _expired_events(services, head, ids)
    lags = [(event.timestamp - due).total_seconds() for event in events]
    last = max((event.timestamp for event in events), default=due)
    drained = (last - due).total_seconds()
    return {"orders": len(ids), "expired": len(events), "due_at": due.isoformat(),
            "seeding_seconds": (seeded_at - started).total_seconds(),
            "seeded_before_due": seeded_at < due, "lag": summary(lags),
            "drain_seconds": drained, "throughput": len(events) / drained if drained > 0 else 0.0}


def main() -> None:
    """``python -m bench.expiry``: this scenario alone (``BENCH_QUICK``, ``DATABASE_URL`` and
    ``BENCH_EXPIRY_ORDERS`` as for the whole run), its figures as JSON."""
    config = Config.from_env()
    if os.environ.get("BENCH_EXPIRY_ORDERS"):
        config = replace(config, expiry_orders=int(os.environ["BENCH_EXPIRY_ORDERS"]))
    logs = RESULTS_DIR / f"logs-expiry-{time.strftime('%Y%m%d-%H%M%S')}"
    logs.mkdir(parents=True, exist_ok=True)
    with prepared_backend(os.environ.get("DATABASE_URL")) as backend:
        services = build_services(backend.settings)
        try:
            result = expiry(backend, services, config, logs / "scheduler.log")
        finally:
            services.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
