"""Ticket distribution groups: one per order line of a confirmed version (contract section 7).

A group is an event-sourced aggregate whose id derives from (order, line, line version), so the
same line at the same version can never get two groups. ``OrderTicketGroups`` is the per-order
index of them (which group each line has now, and every group the order ever had). What groups
a confirmed order should have follows from its *state* alone (``plan_groups``): whatever events
brought the lines there (a sale, a change, supplements, a cancellation, a refund).

Events store plain JSON (strings, lists, times), so no transcoding is needed to read them back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import Conflict, NotFound
from ordering.domain.order_state import CONFIRMED
from ordering.domain.values import OrderLine

Context = dict[str, Any]
TICKETING_NAMESPACE = UUID("9c4f3c2e-5b1d-4f0a-8e7d-2a6b1c9d0e13")
CREATED, DISTRIBUTED, CANCELLED = "CREATED", "DISTRIBUTED", "CANCELLED"
GROUP_STATUSES = (CREATED, DISTRIBUTED, CANCELLED)
TICKETED_CONFIRMATIONS = (None, "SUCCESS")  # a line PENDING or FAILED gets no group


class TicketsCancelled(Conflict):
    code = "TICKETS_CANCELLED"
    title = "Tickets cancelled"


class TicketDistributionGroupNotFound(NotFound):
    code = "TICKET_DISTRIBUTION_GROUP_NOT_FOUND"
    title = "Ticket distribution group not found"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"Ticket distribution group {group_id} was not found")


def group_uuid(order_code: str, order_line_id: str, line_version: int) -> UUID:
    return uuid5(TICKETING_NAMESPACE, f"group:{order_code}:{order_line_id}:{line_version}")


def index_uuid(order_code: str) -> UUID:
    return uuid5(TICKETING_NAMESPACE, f"groups-of:{order_code}")


@dataclass(frozen=True)
class TicketDistribution:
    """One fare product for one traveller of the line."""

    id: str
    fare_product_id: str
    traveller_id: str
    reservation_ids: tuple[str, ...]
    status: str = CREATED
    distributed_at: datetime | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "fareProductId": self.fare_product_id, "travellerId": self.traveller_id,
                "reservationIds": list(self.reservation_ids), "status": self.status,
                "distributedAt": self.distributed_at}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> TicketDistribution:
        return cls(data["id"], data["fareProductId"], data["travellerId"],
                   tuple(data.get("reservationIds") or ()))


def distributions_of(group_id: UUID, line: OrderLine) -> list[dict[str, Any]]:
    """One distribution per fare product and traveller; ids derive from the group's."""
    return [TicketDistribution(str(uuid5(group_id, f"{n}:{product.id}:{traveller}")), product.id,
                               traveller, line.reservation_ids).to_wire()
            for n, (product, traveller) in enumerate(
                (p, t) for p in line.fare_products for t in line.traveller_ids)]


class TicketDistributionGroup(Aggregate):
    @staticmethod
    def create_id(order_code: str, order_line_id: str, line_version: int, **_: Any) -> UUID:
        return group_uuid(order_code, order_line_id, line_version)

    @event("GroupCreated")
    def __init__(self, order_code: str, organisation_id: int, order_version: int, order_line_id: str,
                 line_version: int, replaces_group_ids: list[str], distributions: list[dict[str, Any]],
                 at: datetime, context: Context) -> None:
        self.order_code = order_code
        self.organisation_id = organisation_id
        self.order_version = order_version
        self.order_line_id = order_line_id
        self.line_version = line_version
        self.replaces_group_ids = list(replaces_group_ids)
        self.distributions = [TicketDistribution.from_wire(d) for d in distributions]
        self.status = CREATED
        self.created_at = at
        self.cancelled_at: datetime | None = None

    def distribute(self, now: datetime, context: Context) -> bool:
        """Idempotent: False when already distributed. A cancelled group refuses."""
        if self.status == CANCELLED:
            raise TicketsCancelled(f"Ticket distribution group {self.id} is cancelled")
        if self.status == DISTRIBUTED:
            return False
        self._distributed(at=now, context=context)
        return True

    def cancel(self, now: datetime, reason: str, context: Context) -> bool:
        if self.status == CANCELLED:
            return False
        self._cancelled(at=now, reason=reason, context=context)
        return True

    @event("GroupDistributed")
    def _distributed(self, at: datetime, context: Context) -> None:
        self.status = DISTRIBUTED
        self.distributions = [replace(d, status=DISTRIBUTED, distributed_at=at) for d in self.distributions]

    @event("GroupCancelled")
    def _cancelled(self, at: datetime, reason: str, context: Context) -> None:
        self.status = CANCELLED
        self.cancelled_at = at
        self.distributions = [replace(d, status=CANCELLED) for d in self.distributions]


class OrderTicketGroups(Aggregate):
    """Which groups an order has: per line, every group it had (oldest first) and the live one."""

    @staticmethod
    def create_id(order_code: str, **_: Any) -> UUID:
        return index_uuid(order_code)

    @event("TicketGroupsIndexed")
    def __init__(self, order_code: str, organisation_id: int, context: Context) -> None:
        self.order_code = order_code
        self.organisation_id = organisation_id
        self.group_ids: list[str] = []
        self.by_line: dict[str, list[str]] = {}
        self.live: dict[str, str] = {}

    def last_group_of(self, order_line_id: str) -> str | None:
        groups = self.by_line.get(order_line_id)
        return groups[-1] if groups else None

    def record(self, created: list[dict[str, str]], cancelled: list[str], order_version: int,
               context: Context) -> None:
        if created or cancelled:
            self._changed(created=created, cancelled=cancelled, order_version=order_version,
                          context=context)

    @event("TicketGroupsChanged")
    def _changed(self, created: list[dict[str, str]], cancelled: list[str], order_version: int,
                 context: Context) -> None:
        gone = set(cancelled)
        self.live = {line: group for line, group in self.live.items() if group not in gone}
        for entry in created:
            line_id, group_id = entry["orderLineId"], entry["groupId"]
            self.group_ids.append(group_id)
            self.by_line.setdefault(line_id, []).append(group_id)
            self.live[line_id] = group_id


@dataclass(frozen=True)
class NewGroup:
    line: OrderLine
    group_id: UUID
    replaces_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class GroupPlan:
    create: tuple[NewGroup, ...] = ()
    cancel: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.create or self.cancel)


def ticketed(line: OrderLine) -> bool:
    return line.status == CONFIRMED and line.external_confirmation in TICKETED_CONFIRMATIONS


def plan_groups(order_code: str, lines: Sequence[OrderLine], index: OrderTicketGroups | None) -> GroupPlan:
    """What the groups of a confirmed order should become, from its lines' state alone.

    A line no longer active (replaced, cancelled, refunded, gone) loses its live group; a line
    whose version changed (supplements) gets a new group replacing its old one; an active,
    confirmed line that is not waiting for (or failed) external confirmation gets one if it has
    none, naming the last groups of the lines it replaces; every other group stays as it is."""
    live = dict(index.live) if index else {}
    cancel: list[str] = []
    create: list[NewGroup] = []
    present = {line.id for line in lines}
    for line_id, group_id in live.items():
        if line_id not in present:
            cancel.append(group_id)
    for line in lines:
        current = live.get(line.id)
        wanted = group_uuid(order_code, line.id, line.version)
        if line.status != CONFIRMED:  # replaced or cancelled (a confirmed order has no draft line)
            if current is not None:
                cancel.append(current)
            continue
        if current == str(wanted):
            continue
        if current is not None:
            cancel.append(current)  # its version changed: the old group goes
        if ticketed(line) and (index is None or str(wanted) not in index.group_ids):
            create.append(NewGroup(line, wanted, _replaced_groups(line, index)))
    return GroupPlan(tuple(create), tuple(dict.fromkeys(cancel)))


def _replaced_groups(line: OrderLine, index: OrderTicketGroups | None) -> tuple[str, ...]:
    if index is None:
        return ()
    replaced = [index.last_group_of(line_id) for line_id in (line.id, *line.replaces_order_line_ids)]
    return tuple(dict.fromkeys(g for g in replaced if g is not None))
