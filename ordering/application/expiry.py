"""Expiry: orders whose ``expireAt`` passed return to their last confirmed version."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
)

from ordering.application.base import CommandRunner, Saved, seat_kwargs, split
from ordering.application.context import system_context
from ordering.domain.inventory import SeatChanges
from ordering.domain.order import Order
from ordering.domain.order_state import SCRAPPED

EXPIRY_ACTOR = "order-expiry-scheduler"



class ExpiryCommands(CommandRunner):
    """Expiry commands; the service itself is the actor."""

    def expire_order(self, order_id: str, now: datetime, correlation_id: str | None = None) -> bool:
        """Idempotent: emits ``OrderExpired`` only when the order is due at ``now``; a payment
        whose lock timed out is cancelled first. The service itself is the actor."""
        return self._retrying(lambda: self._expire(order_id, now, correlation_id), order_id)

    def expire_orders(self, order_ids: list[str], now: datetime, correlation_id: str | None = None,
                      loaded: Mapping[str, Order] | None = None) -> int:
        """Several orders in one transaction (the sweep's fast path); on a conflict, one by one,
        each loaded afresh. ``loaded``: orders read earlier; a stale one fails the save's
        version check, never expires wrongly."""
        loaded = loaded or {}
        changed: dict[UUID, Aggregate] = {}
        seats = SeatChanges()
        expired = 0
        for order_id in order_ids:
            done, saved = self._expire(order_id, now, correlation_id, order=loaded.get(order_id))
            if not done and order_id in loaded:  # due by the read model: is it, read afresh?
                done, saved = self._expire(order_id, now, correlation_id)
            expired += done
            aggregates, freed = split(saved)
            changed.update((aggregate.id, aggregate) for aggregate in aggregates)
            seats += freed
        if not changed:
            return 0
        try:
            self.save(*changed.values(), **seat_kwargs(seats))
        except IntegrityError:
            if loaded:  # perhaps one changed since it was read: the batch again, all read afresh
                return self.expire_orders(order_ids, now, correlation_id)
            return sum(self.expire_order(order_id, now, correlation_id) for order_id in order_ids)
        return expired

    def _expire(self, order_id: str, now: datetime, correlation_id: str | None,
                order: Order | None = None) -> tuple[bool, list[Saved]]:
        order = order or self._load(order_id, None)
        ctx = system_context(correlation_id or str(uuid4()), order.organisation_id, EXPIRY_ACTOR)
        payment_id = order.lock.payment_id if order.lock else None
        scrapped, replaced = order.unconfirmed_reservations(), order.reservations_of_inactive_lines()
        outcome = order.expire(now, now - self.policy.lock_timeout, ctx.as_event_data())
        if outcome is None:
            return False, []
        payment = self._cancelled_payment(payment_id, "LOCK_TIMED_OUT", ctx)
        # a paid order waiting for confirmation failed: confirmed, its replaced seats go
        released = self._release_seats(scrapped if outcome == SCRAPPED else replaced)
        return True, [order, *released, *payment]
