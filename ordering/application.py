"""The application service: each command loads, acts on the aggregates and saves them atomically."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, CanMutateAggregate, DomainEventProtocol
from eventsourcing.persistence import IntegrityError

from ordering.context import CommandContext
from ordering.errors import (
    ConcurrentModification,
    InvalidRequest,
    OrderNotFound,
    VersionNotFound,
)
from ordering.order import Order, is_order_code, new_order_code, order_uuid
from ordering.policy import MAX_EXPIRE_AHEAD, OrderPolicy, utcnow

Clock = Callable[[], datetime]
OrderChange = Callable[[Order], Any]
"""Acts on a loaded order; may return other aggregates (a tuple or list) to save with it."""
NEW_ORDER_ATTEMPTS = 10
RETRY_BACKOFF_SECONDS = 0.005


@dataclass(frozen=True)
class TrailEntry:
    """One event of an order's audit trail, with the order's business version after it."""

    sequence: int
    event: DomainEventProtocol[UUID]
    order_version: int


class OrderingApplication(Application[UUID]):
    name = "orders"

    def __init__(
        self,
        env: dict[str, str] | None = None,
        policy: OrderPolicy | None = None,
        clock: Clock = utcnow,
    ) -> None:
        super().__init__(env)
        self.policy = policy or OrderPolicy()
        self.clock = clock

    # ----------------------------------------------------------------- orders: commands

    def create_order(
        self,
        ctx: CommandContext,
        currency: str | None = None,
        expire_at: datetime | None = None,
        contact_info: dict[str, Any] | None = None,
        external_reference: str | None = None,
    ) -> Order:
        now = self.clock()
        if expire_at is not None:
            self._check_expire_at(expire_at, now)
        for _ in range(NEW_ORDER_ATTEMPTS):
            order = Order(
                code=new_order_code(),
                organisation_id=ctx.organisation_id,
                created_by=ctx.subject,
                pos=ctx.pos,
                distribution_channel_id=ctx.distribution_channel_id,
                currency=currency or self.policy.default_currency,
                created_at=now,
                expire_at=expire_at or now + self.policy.draft_ttl,
                expire_at_set_by_client=expire_at is not None,
                contact_info=contact_info,
                external_reference=external_reference,
                context=ctx.as_event_data(),
            )
            try:
                self.save(order)
            except IntegrityError:
                continue  # the random order id was taken: draw another
            return order
        raise ConcurrentModification("new order")

    def update_order(self, order_id: str, ctx: CommandContext, changes: dict[str, Any]) -> Order:
        if changes.get("expire_at") is not None:
            self._check_expire_at(changes["expire_at"], self.clock())
        elif "expire_at" in changes:
            raise InvalidRequest("expireAt may not be null", "expireAt")
        return self._change(order_id, ctx, lambda order: order.update(changes, ctx.as_event_data()))

    def confirm_order(self, order_id: str, ctx: CommandContext) -> Order:
        return self._change(order_id, ctx, lambda o: o.confirm(self.clock(), ctx.as_event_data()))

    def reset_order(self, order_id: str, ctx: CommandContext) -> Order:
        return self._change(order_id, ctx, lambda o: o.reset(self.clock(), ctx.as_event_data()))

    def fail_order(self, order_id: str, ctx: CommandContext, line_ids: list[str] | None) -> Order:
        return self._change(
            order_id, ctx, lambda o: o.fail(line_ids, self.clock(), ctx.as_event_data())
        )

    def unlock_order(self, order_id: str, ctx: CommandContext) -> Order:
        return self._change(
            order_id, ctx, lambda o: o.unlock("UNLOCKED", self.clock(), ctx.as_event_data())
        )

    def expire_order(self, order_id: str, now: datetime, ctx: CommandContext) -> bool:
        """Idempotent: emits ``OrderExpired`` only when the order is due at ``now``."""
        expired = False

        def expire(order: Order) -> None:
            nonlocal expired
            deadline = now - self.policy.lock_timeout
            expired = order.expire(now, deadline, ctx.as_event_data())

        self._change(order_id, None, expire)
        return expired

    # ----------------------------------------------------------------- orders: queries

    def get_order(self, order_id: str, organisation_id: int | None, version: int | None = None) -> Order:
        order = self._load(order_id, organisation_id)
        if version is None or version == order.order_version:
            return order
        event_version = order.event_version_of_confirmed(version)
        if event_version is None:
            raise VersionNotFound(order_id, version)
        return self._get(order_id, event_version)

    def order_trail(self, order_id: str, organisation_id: int | None) -> list[TrailEntry]:
        order = self._load(order_id, organisation_id)
        entries: list[TrailEntry] = []
        replayed: Any = None
        for sequence, domain_event in enumerate(self.events.get(order.id), start=1):
            replayed = cast(CanMutateAggregate[UUID], domain_event).mutate(replayed)
            entries.append(TrailEntry(sequence, domain_event, replayed.order_version))
        return entries

    # ----------------------------------------------------------------- plumbing

    def _change(self, order_id: str, ctx: CommandContext | None, change: OrderChange) -> Order:
        """Load, act, save; on a version conflict retry on fresh state, then give up with 409."""
        organisation_id = ctx.organisation_id if ctx else None
        for attempt in range(self.policy.command_attempts):
            order = self._load(order_id, organisation_id)
            result = change(order)
            others: Sequence[Aggregate] = result if isinstance(result, (list, tuple)) else ()
            try:
                self.save(order, *others)
            except IntegrityError:
                time.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * (attempt + 1)))
                continue
            return order
        raise ConcurrentModification(order_id)

    def _load(self, order_id: str, organisation_id: int | None) -> Order:
        if not is_order_code(order_id):
            raise OrderNotFound(order_id)
        order = self._get(order_id)
        if organisation_id is not None and order.organisation_id != organisation_id:
            raise OrderNotFound(order_id)
        return order

    def _get(self, order_id: str, version: int | None = None) -> Order:
        try:
            order: Order = self.repository.get(order_uuid(order_id), version=version)
        except AggregateNotFoundError:
            raise OrderNotFound(order_id) from None
        return order

    def _check_expire_at(self, expire_at: datetime, now: datetime) -> None:
        if expire_at < now:
            raise InvalidRequest("expireAt may not be in the past", "expireAt")
        if expire_at > now + MAX_EXPIRE_AHEAD:
            raise InvalidRequest("expireAt may not be more than six months ahead", "expireAt")
