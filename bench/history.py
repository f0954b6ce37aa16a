"""Scenario 5: loading an order with a long history, with and without snapshots."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from bench.offers import TRAVELLERS, loaded, sale_offer
from bench.stats import summary
from ordering.application import OrderingApplication
from ordering.domain.offer import Offer
from ordering.domain.order import Order
from ordering.domain.order_ids import new_order_code
from ordering.domain.reserving import OfferConfiguration, plan_lines
from ordering.domain.values import PaymentRef
from ordering.settings import Settings

UPDATES_PER_CYCLE = 5  # then a line, a lock, a capture and a confirmation: 9 events a cycle


def long_order(events: int, now: Any) -> Order:
    """An order of exactly ``events`` events: created, then cycles of header updates and a new
    paid and confirmed line (a long-lived order changed again and again)."""
    ctx = {"correlationId": "history", "clientName": "bench", "organisationId": 1, "subject": "bench",
           "pos": "Entur-APP", "distributionChannelId": "ENT:DistributionChannel:Web"}
    order = Order(code=new_order_code(), organisation_id=1, created_by="bench", pos="Entur-APP",
                  distribution_channel_id="ENT:DistributionChannel:Web", currency="NOK", created_at=now,
                  expire_at=now + timedelta(minutes=20), expire_at_set_by_client=False, contact_info=None,
                  external_reference="history-0", context=ctx)
    offer = Offer(loaded(sale_offer("history", now)))
    cycle = 0
    while order.version < events:
        cycle += 1
        if events - order.version < UPDATES_PER_CYCLE + 4:
            order.update({"external_reference": f"history-{order.version}"}, ctx)
            continue
        for n in range(UPDATES_PER_CYCLE):
            order.update({"external_reference": f"history-{cycle}-{n}"}, ctx)
        lines = plan_lines(offer, OfferConfiguration(offer.offer_id, TRAVELLERS[:1]), now)
        order.add_lines(lines, now, now + timedelta(minutes=20), ctx)
        order.lock_for_payment(f"payment-{cycle}", now, ctx)
        order.register_capture(PaymentRef(f"payment-{cycle}", "CAPTURED", order.balance, "NOK", "VISA", now),
                               now, ctx)
    return order


def _loads(application: OrderingApplication, order: Order, times: int) -> list[float]:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        loaded_order: Any = application.repository.get(order.id)
        seconds.append(time.perf_counter() - started)
        assert loaded_order.version == order.version and loaded_order.lines == order.lines
    return seconds


def long_history(settings: Settings, events: int, times: int) -> dict[str, Any]:
    """Save one order of ``events`` events (snapshots every 100 are taken on the way), then load
    it ``times`` times through the repository, with the snapshot store and without it."""
    with_snapshots = OrderingApplication(env=settings.eventsourcing_env())
    without = OrderingApplication(env=settings.eventsourcing_env() | {"IS_SNAPSHOTTING_ENABLED": "n"})
    try:
        order = long_order(events, with_snapshots.clock())
        started = time.perf_counter()
        with_snapshots.save(order)
        saved = time.perf_counter() - started
        _loads(with_snapshots, order, 2)  # warm both paths (connections, statement preparation)
        _loads(without, order, 2)
        return {"events": order.version, "lines": len(order.lines), "order_version": order.order_version,
                "save_seconds": saved,
                "with_snapshots": summary(_loads(with_snapshots, order, times)),
                "without_snapshots": summary(_loads(without, order, times))}
    finally:
        with_snapshots.close()
        without.close()
