"""Ticket distribution groups: a consequence of order events, and what clients do with them.

``GroupProcess`` is the follower's policy. Given a batch of notifications of the order log, it
folds each order through its events and, wherever the order then stands confirmed, reconciles
the order's groups with its lines (``plan_groups``): by state, never by event name, so events
it has never heard of (fees, cancellations, refunds) are handled alike. A reset or an expiry
returns the order to the state its groups were made for, so it changes nothing. The process
returns the aggregates with new events; its caller stores them with the tracked position.

``TicketGroups`` holds the clients' use cases: list an order's groups, distribute, the trail.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification, PersistenceError

from ordering.application.base import CommandRunner
from ordering.application.context import CommandContext
from ordering.application.topics import topic_prefixes
from ordering.domain.order import Order
from ordering.domain.order_state import CONFIRMED
from ordering.domain.ticketing import (
    TICKETING_NAMESPACE,
    OrderTicketGroups,
    TicketDistributionGroup,
    TicketDistributionGroupNotFound,
    distributions_of,
    index_uuid,
    plan_groups,
)

log = logging.getLogger(__name__)
ORDER_TOPIC_PREFIXES = topic_prefixes(Order)
ACTOR = "ticket-groups"
CACHE_SIZE = 20_000
Loader = Callable[[UUID], Any]


class GroupProcess:
    """What a batch of order notifications leads to, as aggregates with pending events."""

    def __init__(self, application: CommandRunner, load: Loader | None = None,
                 cache_size: int = CACHE_SIZE) -> None:
        self.application = application
        self._load = load or self._stored
        self._cache_size = cache_size
        self._orders: OrderedDict[UUID, Order] = OrderedDict()  # state after its last event seen
        self._indexes: OrderedDict[UUID, OrderTicketGroups] = OrderedDict()

    def consequences(self, notifications: Sequence[Notification]) -> list[Aggregate]:
        touched: dict[UUID, Aggregate] = {}
        broken: set[UUID] = set()
        self._read_together(notifications)
        for notification in notifications:
            order_id = UUID(str(notification.originator_id))
            if not notification.topic.startswith(ORDER_TOPIC_PREFIXES) or order_id in broken:
                continue
            try:
                order, domain_event = self._fold(notification)
            except PersistenceError:
                raise
            except Exception as error:  # one order's bad event must not stop every other order
                log.error("ticket groups: order %s cannot be folded at notification %s: %s: %s",
                          order_id, notification.id, type(error).__name__, error)
                broken.add(order_id)
                self._orders.pop(order_id, None)
                continue
            if order.status == CONFIRMED and not order.has_unconfirmed_changes:
                self._reconcile(order, domain_event, touched)
        return [a for a in touched.values() if a.pending_events]

    def _read_together(self, notifications: Sequence[Notification]) -> None:
        """The orders whose state before the batch is not in the cache, read in one query."""
        def cached(order_id: UUID, version: int) -> bool:
            before = self._orders.get(order_id)
            return before is not None and before.version == version - 1

        ours = [n for n in notifications if n.topic.startswith(ORDER_TOPIC_PREFIXES)]
        for order_id, order in self.application.load_before(ours, cached).items():
            self._keep(self._orders, order_id, order)

    def remember(self, saved: Sequence[Aggregate]) -> None:
        """After the save committed: the indexes as saved are the current ones."""
        for aggregate in saved:
            if isinstance(aggregate, OrderTicketGroups):
                self._keep(self._indexes, aggregate.id, aggregate)

    def forget(self) -> None:
        """After a failed save: the indexes may hold changes that were never stored."""
        self._indexes.clear()

    def _fold(self, notification: Notification) -> tuple[Order, Any]:
        order_id, version = UUID(str(notification.originator_id)), notification.originator_version
        before: Order | None = self._orders.pop(order_id, None)
        if before is not None and before.version != version - 1:
            before = None
        if before is None and version > 1:
            before = self.application.repository.get(order_id, version=version - 1)
        domain_event: Any = self.application.mapper.to_domain_event(notification)
        order: Order = domain_event.mutate(before)
        self._keep(self._orders, order_id, order)
        return order, domain_event

    def _keep(self, cache: OrderedDict[UUID, Any], key: UUID, value: Any) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > self._cache_size:
            cache.popitem(last=False)

    def _stored(self, aggregate_id: UUID) -> Any:
        cached = self._indexes.get(aggregate_id)
        if cached is not None:
            return cached
        return self.application._find(Aggregate, aggregate_id)

    def _reconcile(self, order: Order, domain_event: Any, touched: dict[UUID, Aggregate]) -> None:
        index_id = index_uuid(order.code)
        index: OrderTicketGroups | None = touched.get(index_id) or self._load(index_id)  # type: ignore[assignment]
        plan = plan_groups(order.code, order.lines, index)
        if not plan:
            return
        at, context = domain_event.timestamp, caused_by(order, domain_event)
        if index is None:
            index = OrderTicketGroups(order_code=order.code, organisation_id=order.organisation_id,
                                      context=context)
        for group_id in plan.cancel:
            group = touched.get(UUID(group_id)) or self._load(UUID(group_id))
            if not isinstance(group, TicketDistributionGroup):
                continue
            if group.cancel(at, "ORDER_LINES_CHANGED", context):
                touched[group.id] = group
        for new in plan.create:
            group = TicketDistributionGroup(
                order_code=order.code, organisation_id=order.organisation_id,
                order_version=order.order_version, order_line_id=new.line.id,
                line_version=new.line.version, replaces_group_ids=list(new.replaces_group_ids),
                distributions=distributions_of(new.group_id, new.line), at=at, context=context)
            touched[group.id] = group
        index.record(created=[{"groupId": str(n.group_id), "orderLineId": n.line.id} for n in plan.create],
                     cancelled=list(plan.cancel), order_version=order.order_version, context=context)
        touched[index.id] = index


def caused_by(order: Order, domain_event: Any) -> dict[str, Any]:
    """The context of a group event: the organisation of the order, the correlation id of the
    command that confirmed it, and a command id that is the same on every replay."""
    upstream = getattr(domain_event, "context", None) or {}
    cause = f"{order.code}:{domain_event.originator_version}"
    return {"correlationId": upstream.get("correlationId"), "clientName": ACTOR,
            "organisationId": order.organisation_id, "subject": ACTOR, "pos": None,
            "distributionChannelId": None, "commandId": str(uuid5(TICKETING_NAMESPACE, cause)),
            "causationId": cause}


@dataclass(frozen=True)
class GroupTrailEntry:
    sequence: int
    event: Any


class TicketGroups:
    """The clients' use cases on ticket distribution groups, scoped to their organisation."""

    def __init__(self, application: CommandRunner) -> None:
        self.application = application

    def of_order(self, order_id: str, organisation_id: int | None, order_version: int | None = None,
                 status: str | None = None) -> list[TicketDistributionGroup]:
        order = self.application._load(order_id, organisation_id)  # another organisation's: 404
        index = self.application._find(OrderTicketGroups, index_uuid(order.code))
        if index is None:
            return []
        groups = [self.application._get(TicketDistributionGroup, UUID(g), g, TicketDistributionGroupNotFound)
                  for g in index.group_ids]
        return [g for g in groups if (order_version is None or g.order_version == order_version)
                and (status is None or g.status == status)]

    def get(self, group_id: str, organisation_id: int | None) -> TicketDistributionGroup:
        return self.application._get_owned(TicketDistributionGroup, group_id,
                                           TicketDistributionGroupNotFound, organisation_id)

    def distribute(self, group_ids: list[str], ctx: CommandContext) -> list[TicketDistributionGroup]:
        """Every group listed becomes DISTRIBUTED, or none does (unknown: 404, cancelled: 409)."""
        def unit() -> tuple[list[TicketDistributionGroup], Sequence[Aggregate]]:
            groups = [self.get(g, ctx.organisation_id) for g in dict.fromkeys(group_ids)]
            now = self.application.clock()
            changed = [g for g in groups if g.distribute(now, ctx.as_event_data())]
            return groups, changed

        return self.application._retrying(unit, "ticket distribution groups")

    def trail(self, group_id: str, organisation_id: int | None) -> list[GroupTrailEntry]:
        group = self.get(group_id, organisation_id)
        events = self.application.repository.event_store.get(group.id)
        return [GroupTrailEntry(e.originator_version, e) for e in events]
