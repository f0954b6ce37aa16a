"""Selling: orders, their lines and seats, confirmation, failure, reset; reading orders back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate, DomainEventProtocol

from ordering.application.base import CommandRunner, Saved, watched
from ordering.application.context import CommandContext
from ordering.domain.errors import InvalidRequest, OrderNotFound, VersionNotFound
from ordering.domain.inventory import SeatChanges
from ordering.domain.order import LineAddition, Order
from ordering.domain.order_ids import new_order_code, order_uuid
from ordering.domain.order_state import FAILED, SCRAPPED
from ordering.domain.policy import MAX_EXPIRE_AHEAD
from ordering.domain.reserving import OfferConfiguration, check_currency, plan_lines


@dataclass(frozen=True)
class TrailEntry:
    """One event of an order's audit trail, with the order's business version after it."""

    sequence: int
    event: DomainEventProtocol[UUID]
    order_version: int


@dataclass(frozen=True)
class Reservation:
    order: Order
    additions: list[LineAddition]



class SalesCommands(CommandRunner):
    """Commands and queries of the sale itself."""

    def create_order(self, ctx: CommandContext, currency: str | None = None,
                     expire_at: datetime | None = None, contact_info: dict[str, Any] | None = None,
                     external_reference: str | None = None) -> Order:
        def unit() -> tuple[Order, Sequence[Aggregate]]:
            order = self._new_order(ctx, self.clock(), currency, expire_at, contact_info,
                                    external_reference)
            return order, [order]

        return self._retrying(unit, "new order")

    def update_order(self, order_id: str, ctx: CommandContext, changes: dict[str, Any]) -> Order:
        if changes.get("expire_at") is not None:
            self._check_expire_at(changes["expire_at"], self.clock())
        elif "expire_at" in changes:
            raise InvalidRequest("expireAt may not be null", "expireAt")
        return self._change(order_id, ctx, lambda order: order.update(changes, ctx.as_event_data()))

    def confirm_order(self, order_id: str, ctx: CommandContext) -> Order:
        return self._change(order_id, ctx, lambda o: self._confirming(
            o, lambda: o.confirm(self.clock(), ctx.as_event_data())))

    def confirm_order_lines(self, order_id: str, ctx: CommandContext, line_ids: list[str] | None) -> Order:
        """A third party confirmed lines; with none left waiting a paid draft confirms."""
        return self._change(order_id, ctx, lambda o: self._confirming(
            o, lambda: o.confirm_lines(line_ids, self.clock(), ctx.as_event_data())))

    def fail_order(self, order_id: str, ctx: CommandContext, line_ids: list[str] | None) -> Order:
        return self._change(order_id, ctx, lambda o: self._confirming(
            o, lambda: o.fail(line_ids, self.clock(), ctx.as_event_data())))

    def reset_order(self, order_id: str, ctx: CommandContext) -> Order:
        """Scrap unconfirmed changes now and give back the seats they held."""
        def reset(order: Order) -> list[SeatChanges]:
            scrapped, replaced = order.unconfirmed_reservations(), order.reservations_of_inactive_lines()
            outcome = order.reset(self.clock(), ctx.as_event_data())
            if outcome == SCRAPPED:
                return self._release_seats(scrapped)
            if outcome == FAILED:  # a paid order waiting for confirmation: confirmed as failed
                return self._release_seats(replaced)
            return []

        return self._change(order_id, ctx, reset)

    def unlock_order(self, order_id: str, ctx: CommandContext) -> Order:
        """Lift the lock and cancel the payment that held it. Idempotent."""
        def unlock(order: Order) -> list[Aggregate]:
            payment_id = order.unlock("UNLOCKED", self.clock(), ctx.as_event_data())
            return self._cancelled_payment(payment_id, "ORDER_UNLOCKED", ctx)

        return self._change(order_id, ctx, unlock)

    def reserve_offers(self, ctx: CommandContext, order_id: str | None,
                       configurations: list[OfferConfiguration]) -> Reservation:
        """Add order lines for offers and hold their seats, all in one transaction or nothing."""
        offers = {c.offer_id: self.get_offer(c.offer_id) for c in configurations}

        def unit() -> tuple[Reservation, Sequence[Saved]]:
            now = self.clock()
            order = (self._load(order_id, ctx.organisation_id) if order_id is not None
                     else self._new_order(ctx, now))
            additions = [addition for position, c in enumerate(configurations)
                         for addition in plan_lines(offers[c.offer_id], c, now, position)]
            check_currency(order.currency, offers.values())
            seats = self._hold_seats(order.code, additions)
            order.add_lines(additions, now, now + self.policy.draft_ttl, ctx.as_event_data())
            return Reservation(order, additions), [order, *seats]

        return self._retrying(unit, "new order" if order_id is None else order_id)

    def _new_order(self, ctx: CommandContext, now: datetime, currency: str | None = None,
                   expire_at: datetime | None = None, contact_info: dict[str, Any] | None = None,
                   external_reference: str | None = None) -> Order:
        if expire_at is not None:
            self._check_expire_at(expire_at, now)
        return Order(
            code=new_order_code(),  # a taken code fails the save; the retry draws another
            organisation_id=ctx.organisation_id, created_by=ctx.subject, pos=ctx.pos,
            distribution_channel_id=ctx.distribution_channel_id,
            currency=currency or self.policy.default_currency, created_at=now,
            expire_at=expire_at or now + self.policy.draft_ttl,
            expire_at_set_by_client=expire_at is not None, contact_info=contact_info,
            external_reference=external_reference, context=ctx.as_event_data(),
        )

    def _check_expire_at(self, expire_at: datetime, now: datetime) -> None:
        if expire_at < now:
            raise InvalidRequest("expireAt may not be in the past", "expireAt")
        if expire_at > now + MAX_EXPIRE_AHEAD:
            raise InvalidRequest("expireAt may not be more than six months ahead", "expireAt")

    def get_order(self, order_id: str, organisation_id: int | None, version: int | None = None) -> Order:
        order = self._load(order_id, organisation_id)
        if version is None or version == order.order_version:
            return order
        event_version = order.event_version_of_confirmed(version)
        if event_version is None:
            raise VersionNotFound(order_id, version)
        return watched(self._get(Order, order_uuid(order_id), order_id, OrderNotFound, event_version),
                        loaded=False)

    def order_trail(self, order_id: str, organisation_id: int | None) -> list[TrailEntry]:
        order = self._load(order_id, organisation_id)
        entries: list[TrailEntry] = []
        replayed: Any = None
        for sequence, domain_event in enumerate(self.events.get(order.id), start=1):
            replayed = cast(CanMutateAggregate[UUID], domain_event).mutate(replayed)
            entries.append(TrailEntry(sequence, domain_event, replayed.order_version))
        return entries
