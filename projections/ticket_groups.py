"""Ticket distribution groups follow the order log (``projections.follower``).

The groups' events go into the event store itself, beside the orders' (one log, one audit, one
change feed), written by the library's *process recorder* together with the tracked position in
one transaction: after a crash the follower resumes exactly after the last batch it stored, and
a batch stored by another follower first is refused as a whole (the position only moves ahead,
and group ids derive from order, line and line version). ``replay`` makes the groups again from
the whole order log in memory; ``verify`` compares that with what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification, ProcessRecorder, Tracking
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.sqlite import SQLiteFactory, SQLiteProcessRecorder

from ordering.application import OrderingApplication
from ordering.application.ticketing import GroupProcess
from ordering.domain.ticketing import CANCELLED, OrderTicketGroups, TicketDistributionGroup
from ordering.store import _without_retry

TRACKING_NAME = "ticket-groups"
POSTGRES_TRACKING_TABLE = "ticket_groups_tracking"
REPLAY_PAGE = 2000


class PostgresGroupRecorder(PostgresProcessRecorder):
    """No blind retries (see ``ordering.store``): a lost commit is found by the position."""

    insert_events = _without_retry(PostgresApplicationRecorder.insert_events)
    max_tracking_id = _without_retry(PostgresTrackingRecorder.max_tracking_id)


def group_recorder(application: OrderingApplication) -> ProcessRecorder:
    """A process recorder on the order store's own events table and connections."""
    factory: Any = application.factory
    events_table = application.recorder.events_table_name  # type: ignore[attr-defined]
    if isinstance(factory, PostgresFactory):
        return PostgresGroupRecorder(factory.datastore, events_table_name=events_table,
                                     tracking_table_name=POSTGRES_TRACKING_TABLE)
    if isinstance(factory, SQLiteFactory):
        return SQLiteProcessRecorder(factory.datastore, events_table_name=events_table)
    raise TypeError(f"ticket groups need PostgreSQL or SQLite, not {type(factory).__name__}")


def create_ticket_group_tables(application: OrderingApplication) -> None:
    """The tracking table (the events table exists already; creating it again changes nothing)."""
    group_recorder(application).create_table()  # type: ignore[attr-defined]


class TicketGroupProjector:
    """The follower's consumer: group events and the position, stored in one transaction."""

    name = TRACKING_NAME

    def __init__(self, application: OrderingApplication, recorder: ProcessRecorder | None = None) -> None:
        self.application = application
        self.recorder = recorder or group_recorder(application)
        self.policy = GroupProcess(application)

    def position(self) -> int:
        return self.recorder.max_tracking_id(TRACKING_NAME) or 0

    def process(self, notifications: Sequence[Notification]) -> None:
        aggregates = self.policy.consequences(notifications)
        mapper = self.application.mapper
        stored = [mapper.to_stored_event(e) for a in aggregates for e in a.collect_events()]
        try:
            self.recorder.insert_events(stored, tracking=Tracking(TRACKING_NAME, notifications[-1].id))
        except BaseException:
            self.policy.forget()
            raise
        self.policy.remember(aggregates)


def replay(application: OrderingApplication, until: int | None = None,
           progress: Callable[[int], None] | None = None) -> dict[UUID, Aggregate]:
    """The groups (and indexes) the order log up to ``until`` leads to, made in memory."""
    made: dict[UUID, Aggregate] = {}
    policy = GroupProcess(application, load=made.get)
    position = 0
    while True:
        page = application.recorder.select_notifications(start=position, limit=REPLAY_PAGE, stop=until,
                                                         inclusive_of_start=False)
        if not page:
            return made
        for aggregate in policy.consequences(page):
            aggregate.collect_events()
            made[aggregate.id] = aggregate
        position = page[-1].id
        if progress is not None:
            progress(position)


def group_facts(aggregate: Any) -> tuple[Any, ...]:
    """What replay must reproduce: everything but distribution (a client's act, not the log's)."""
    if isinstance(aggregate, OrderTicketGroups):
        return ("index", aggregate.order_code, tuple(aggregate.group_ids),
                tuple(sorted(aggregate.live.items())))
    group: TicketDistributionGroup = aggregate
    return ("group", group.order_code, group.organisation_id, group.order_version, group.order_line_id,
            group.line_version, tuple(group.replaces_group_ids),
            tuple((d.id, d.fare_product_id, d.traveller_id, d.reservation_ids) for d in group.distributions),
            group.status == CANCELLED, group.created_at, group.cancelled_at)


def stored_group_ids(application: OrderingApplication) -> set[UUID]:
    topics = [f"{cls.__module__}:{cls.__qualname__}.{name}" for cls, name in
              ((TicketDistributionGroup, "GroupCreated"), (OrderTicketGroups, "TicketGroupsIndexed"))]
    found: set[UUID] = set()
    position = 0
    while True:
        page = application.recorder.select_notifications(start=position, limit=REPLAY_PAGE, topics=topics,
                                                         inclusive_of_start=False)
        found.update(UUID(str(n.originator_id)) for n in page)
        if len(page) < REPLAY_PAGE:
            return found
        position = page[-1].id


def verify(application: OrderingApplication, report: Callable[[str], None]) -> int:
    """Replay the order log up to the follower's position and compare with the stored groups;
    returns the number of differences."""
    position = TicketGroupProjector(application).position()
    replayed = replay(application, until=position)
    differences = 0
    for aggregate_id in sorted(set(replayed) | stored_group_ids(application), key=str):
        expected = replayed.get(aggregate_id)
        stored = application._find(Aggregate, aggregate_id)
        if expected is None or stored is None:
            report(f"{aggregate_id}: {'not made by replay' if expected is None else 'not stored'}")
            differences += 1
        elif group_facts(stored) != group_facts(expected):
            report(f"{aggregate_id}: stored {group_facts(stored)} but replay made {group_facts(expected)}")
            differences += 1
    return differences


def status(application: OrderingApplication) -> dict[str, int]:
    position = TicketGroupProjector(application).position()
    head = application.recorder.max_notification_id() or 0
    return {"position": position, "head": head, "lag": max(0, head - position)}
