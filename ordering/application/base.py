"""The plumbing every command shares: run a unit of work, save it atomically, retry on conflict.

A command is a *unit*: a function that loads fresh state, acts, and returns the aggregates to
save. ``_retrying`` saves them in one transaction; on a version conflict it runs the unit again
on fresh state a bounded number of times, then gives up with ``CONCURRENT_MODIFICATION``. When a
save's outcome is unknown (the connection dropped), it asks the store before anything runs again.

A caller that must commit something with the change (the answer to an idempotent request) runs
the command inside ``collecting()``: the unit's aggregates are held back, and the caller saves
them with ``save_with_answer`` (running the command again itself on a conflict).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    PersistenceError,
    Recording,
)

from ordering import metrics
from ordering.application.context import CommandContext
from ordering.application.transcodings import register_value_transcodings
from ordering.domain.errors import ConcurrentModification, OrderNotFound, PreconditionFailed
from ordering.domain.inventory import Departure, NoAvailability, SeatChanges, departure_uuid
from ordering.domain.offer import Catalogue, Offer
from ordering.domain.order import LineAddition, Order
from ordering.domain.order_ids import is_order_code, order_uuid
from ordering.domain.order_state import CONFIRMED
from ordering.domain.payment import Payment, PaymentNotFound
from ordering.domain.policy import OrderPolicy, utcnow
from ordering.domain.reserving import OfferNotFound
from ordering.domain.values import SeatReservation
from ordering.idempotency import ANSWER_KWARG, IdempotencyTables, StoredAnswer
from ordering.seats import SEATS_KWARG, SeatTables

Clock = Callable[[], datetime]
T = TypeVar("T")
OwnedT = TypeVar("OwnedT", bound="Owned")
Saved = Aggregate | SeatChanges  # what a unit of work returns to be saved together
Unit = Callable[[], tuple[T, Sequence[Saved]]]
RETRY_BACKOFF_SECONDS = 0.005
OFFER_CACHE_SIZE = 10_000
SHORT_HISTORY = 100  # the snapshotting interval: fewer events than this, no snapshot to look for
changes_log = logging.getLogger("ordering.changes")


class Owned(Protocol):
    organisation_id: int


@dataclass(frozen=True)
class SaveMarker:
    """What identifies one save attempt in the store: its first event's position, its
    timestamp (taken when the event was made) and the command id the event carries."""

    aggregate_id: UUID
    version: int
    timestamp: datetime
    command_id: str | None

    @classmethod
    def of(cls, aggregates: Sequence[Aggregate]) -> SaveMarker | None:
        for aggregate in aggregates:
            if aggregate.pending_events:
                first: Any = aggregate.pending_events[0]
                context = getattr(first, "context", None) or {}
                return cls(first.originator_id, first.originator_version, first.timestamp,
                           context.get("commandId"))
        return None

    def matches(self, stored: Any) -> bool:
        context = getattr(stored, "context", None) or {}
        return bool(stored.timestamp == self.timestamp and context.get("commandId") == self.command_id)



def back_off(attempt: int) -> None:
    """Before running a command again after a version conflict: a random wait that doubles."""
    time.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * 2 ** attempt))


@dataclass
class HeldChange:
    """The aggregates a command changed, and its seats, held back from saving (``collecting``)."""

    aggregates: list[Aggregate] = field(default_factory=list)
    seats: SeatChanges = field(default_factory=SeatChanges)


def split(saved: Sequence[Saved]) -> tuple[list[Aggregate], SeatChanges]:
    """A unit's change: the aggregates with events to store, and the seats they hold or free."""
    aggregates = [item for item in saved if not isinstance(item, SeatChanges)]
    seats = sum((item for item in saved if isinstance(item, SeatChanges)), SeatChanges())
    return aggregates, seats


def seat_kwargs(seats: SeatChanges) -> dict[str, Any]:
    return {SEATS_KWARG: seats} if seats else {}


_HOLDING: ContextVar[HeldChange | None] = ContextVar("held_change", default=None)


@contextmanager
def collecting() -> Iterator[HeldChange]:
    """Commands run inside hold their change back instead of saving it."""
    held = HeldChange()
    token = _HOLDING.set(held)
    try:
        yield held
    finally:
        _HOLDING.reset(token)


@dataclass
class OrderWatch:
    """For the caller (the HTTP layer's ETags): the event version of each order read or changed,
    and a precondition that every order loaded must meet (``If-Match``), checked on fresh state."""

    versions: dict[str, int] = field(default_factory=dict)
    precondition: Callable[[str, int], bool] | None = None

    def saw(self, order: Order) -> None:
        self.versions[order.code] = order.version


_WATCH: ContextVar[OrderWatch | None] = ContextVar("order_watch", default=None)


@contextmanager
def watching_orders(precondition: Callable[[str, int], bool] | None = None) -> Iterator[OrderWatch]:
    watch = OrderWatch(precondition=precondition)
    token = _WATCH.set(watch)
    try:
        yield watch
    finally:
        _WATCH.reset(token)


def watched(order: Order, loaded: bool = True) -> Order:
    watch = _WATCH.get()
    if watch is not None:
        if loaded and watch.precondition is not None and not watch.precondition(order.code, order.version):
            raise PreconditionFailed(order.code)
        watch.saw(order)
    return order


@dataclass(frozen=True)
class OrderChange:
    """What one save did to one order, for the log."""

    order: Order
    events: tuple[Any, ...]

    @classmethod
    def pending_in(cls, objs: Sequence[Any]) -> list[OrderChange]:
        return [cls(o, tuple(o.pending_events)) for o in objs if isinstance(o, Order) and o.pending_events]

    def log(self) -> None:
        context = getattr(self.events[0], "context", None) or {}
        types = [type(event).__name__ for event in self.events]
        changes_log.info(
            "order %s: %s", self.order.code, ", ".join(types),
            extra={"orderId": self.order.code, "orderVersion": self.order.order_version,
                   "orderStatus": self.order.status, "events": types,
                   "correlationId": context.get("correlationId"),
                   "organisationId": context.get("organisationId"),
                   "clientName": context.get("clientName"), "subject": context.get("subject")})


def fold(events: Iterable[Any]) -> Any:
    """An aggregate from its events: the library's ``project_aggregate`` without its check of
    each event against a runtime protocol (a slow ``isinstance``, on every event of every load)."""
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class ShortHistoryRepository(Repository[UUID]):
    """Most aggregates have far fewer events than the snapshotting interval: read their events
    in one query, without first asking the snapshot store (which has nothing for them). Only an
    aggregate with ``SHORT_HISTORY`` events or more is loaded the library's way, from its
    latest snapshot."""

    def _reconstruct_aggregate(self, aggregate_id: UUID, version: int | None,
                               projector_func: ProjectorFunction[Any, Any]) -> Any:
        if self.snapshot_store is None:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        events = list(self.event_store.get(aggregate_id, lte=version, limit=SHORT_HISTORY))
        if len(events) >= SHORT_HISTORY:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        aggregate = fold(events) if projector_func is project_aggregate else projector_func(None, events)
        if aggregate is None:
            raise AggregateNotFoundError(f"Aggregate {aggregate_id!r} version {version!r} not found.")
        return aggregate


class CommandRunner(Application[UUID]):
    """Loading, saving and retrying; the capabilities below build their commands on it."""

    def __init__(self, env: dict[str, str] | None = None, policy: OrderPolicy | None = None,
                 clock: Clock = utcnow) -> None:
        super().__init__(env)
        self.policy = policy or OrderPolicy()
        self.clock = clock
        self.after_save: list[Callable[[Sequence[Any]], None]] = []
        self._offers: dict[str, Offer] = {}  # a published offer never changes: read it once
        self._counted_journeys: set[str] = set()  # whose seats the counter is known to keep

    def construct_repository(self) -> Repository[UUID]:
        return ShortHistoryRepository(event_store=self.events, snapshot_store=self.snapshots)

    def load_before(self, notifications: Iterable[Any],
                    cached: Callable[[UUID, int], bool]) -> dict[UUID, Any]:
        """For a follower's batch: each aggregate as it stood before its first event there, read
        together (``load_together``), but for those ``cached(id, first_version)`` says it holds."""
        first: dict[UUID, int] = {}
        for notification in notifications:
            first.setdefault(UUID(str(notification.originator_id)), notification.originator_version)
        return self.load_together({aggregate_id: version - 1 for aggregate_id, version in first.items()
                                   if version > 1 and not cached(aggregate_id, version)})

    def load_together(self, last_versions: Mapping[UUID, int]) -> dict[UUID, Any]:
        """Aggregates as they stood at these versions, read in one query where the store can
        (PostgreSQL); what it cannot give (another store, a history long enough to have
        snapshots) is left out, for the caller to load one by one."""
        select = getattr(self.recorder, "select_histories", None)
        if select is None or not last_versions:
            return {}
        found: dict[UUID, Any] = {}
        for aggregate_id, stored in select(last_versions).items():
            if len(stored) >= SHORT_HISTORY or stored[0].originator_version != 1:
                continue
            try:
                found[aggregate_id] = fold(map(self.mapper.to_domain_event, stored))
            except Exception:  # an event it cannot fold: the caller's own load meets and reports it
                continue
        return found

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """After every committed save, the listeners (the read model) see what was saved, and
        each changed order is logged: one INFO line per order, whatever command changed it."""
        changes = OrderChange.pending_in(objs)
        recordings = super().save(*objs, **kwargs)
        for change in changes:
            change.log()
        self._tell_listeners(objs)
        return recordings

    def _tell_listeners(self, saved: Sequence[Any]) -> None:
        for listener in self.after_save:
            listener(saved)

    def _retrying(self, unit: Unit[T], subject: str) -> T:
        unavailable: PersistenceError | None = None
        for attempt in range(self.policy.command_attempts):
            result, saved = unit()
            aggregates, seats = split(saved)
            for aggregate in aggregates:
                if isinstance(aggregate, Order):
                    watched(aggregate, loaded=False)  # its version after this change
            marker = SaveMarker.of(aggregates)
            if marker is None:
                metrics.COMMANDS.labels("unchanged").inc()
                return result  # nothing changed: no write, no read-model catch-up
            held = _HOLDING.get()
            if held is not None:  # saved with its answer (save_with_answer), counted there
                held.aggregates.extend(aggregates)
                held.seats += seats
                return result
            try:
                self.save(*aggregates, **seat_kwargs(seats))
            except IntegrityError:
                metrics.RETRIES.inc()
                back_off(attempt)
                continue
            except (OperationalError, InterfaceError) as error:
                if not self._saved_despite(marker):
                    unavailable = error  # known not stored (a stale connection): safe to rerun
                    continue
                self._tell_listeners(aggregates)
            metrics.COMMANDS.labels("saved").inc()
            return result
        metrics.COMMANDS.labels("unavailable" if unavailable else "conflict").inc()
        raise unavailable or ConcurrentModification(subject)

    @property
    def idempotency(self) -> IdempotencyTables:
        tables = getattr(self.recorder, "idempotency", None)
        if not isinstance(tables, IdempotencyTables):
            raise TypeError("this event store keeps no idempotency keys (use SQLite or PostgreSQL)")
        return tables

    def save_with_answer(self, held: HeldChange, answer: StoredAnswer) -> None:
        """A held change and the answer to the request that caused it, in one transaction (the
        answer alone when nothing changed). A version conflict raises ``IntegrityError``: the
        caller runs the request again. An unknown outcome is settled as ``_retrying`` does."""
        marker = SaveMarker.of(held.aggregates)
        if marker is None:
            self.idempotency.record(answer)
            return
        try:
            self.save(*held.aggregates, **seat_kwargs(held.seats), **{ANSWER_KWARG: answer})
        except IntegrityError:
            metrics.RETRIES.inc()
            raise
        except (OperationalError, InterfaceError):
            if not self._saved_despite(marker):
                raise
            self._tell_listeners(held.aggregates)
        metrics.COMMANDS.labels("saved").inc()

    def _saved_despite(self, marker: SaveMarker) -> bool:
        """The connection failed during the save, perhaps after the commit was sent: were this
        attempt's events stored? Asked on another connection; if the store cannot answer
        either, that error propagates (503) and the command is not run again."""
        stored = self.recorder.select_events(marker.aggregate_id, gt=marker.version - 1,
                                             lte=marker.version)
        return bool(stored) and marker.matches(self.mapper.to_domain_event(stored[0]))

    def _change(self, order_id: str, ctx: CommandContext, change: Callable[[Order], Any]) -> Order:
        """Load the caller's order, act on it (``change`` may return other aggregates), save."""
        def unit() -> tuple[Order, Sequence[Aggregate]]:
            order = self._load(order_id, ctx.organisation_id)
            others = change(order)
            return order, [order, *(others if isinstance(others, list) else [])]

        return self._retrying(unit, order_id)

    def _load(self, order_id: str, organisation_id: int | None) -> Order:
        if not is_order_code(order_id):
            raise OrderNotFound(order_id)
        order = self._get(Order, order_uuid(order_id), order_id, OrderNotFound)
        if organisation_id is not None and order.organisation_id != organisation_id:
            raise OrderNotFound(order_id)
        return watched(order)

    def _get(self, kind: type[T], aggregate_id: UUID, public_id: str,
             not_found: Callable[[str], Exception], version: int | None = None) -> T:
        try:
            found: Any = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise not_found(public_id) from None
        if not isinstance(found, kind):
            raise not_found(public_id)
        return found

    def _find(self, kind: type[T], aggregate_id: UUID) -> T | None:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def get_offer(self, offer_id: str) -> Offer:
        """An offer, from memory once read (offers are immutable: ``OfferPublished`` only)."""
        cached = self._offers.get(offer_id)
        if cached is not None:
            return cached
        try:
            offer = self._get(Offer, UUID(offer_id), offer_id, OfferNotFound)
        except ValueError:
            raise OfferNotFound(offer_id) from None
        if len(self._offers) < OFFER_CACHE_SIZE:
            self._offers[offer_id] = offer
        return offer

    def _departure(self, dated_service_journey_id: str) -> Departure | None:
        return self._find(Departure, departure_uuid(dated_service_journey_id))

    def _catalogue(self) -> Catalogue | None:
        return self._find(Catalogue, Catalogue.create_id())

    @property
    def seats(self) -> SeatTables:
        tables = getattr(self.recorder, "seats", None)
        if not isinstance(tables, SeatTables):
            raise TypeError("this event store keeps no seats (use SQLite or PostgreSQL)")
        return tables

    def _counted(self, journeys: Iterable[str]) -> None:
        """Before seats on a journey change: a departure an earlier release kept whole (its
        holds as events) has its capacity and holds adopted by the counter, once."""
        for journey in sorted(set(journeys) - self._counted_journeys):
            if self.seats.availability(journey) is None:
                departure = self._departure(journey)
                if departure is None:
                    continue  # no capacity set: a hold is refused, a release has nothing to free
                self.seats.adopt(journey, departure.capacity, departure.legacy_holds())
            self._counted_journeys.add(journey)

    def _hold_seats(self, order_code: str, additions: list[LineAddition]) -> list[SeatChanges]:
        """The new lines' seats, held in the save's own transaction (refused there if they do
        not fit); a journey with no capacity set is refused at once."""
        reservations = [r for addition in additions for r in addition.reservations]
        if not reservations:
            return []
        journeys = {r.dated_service_journey_id for r in reservations}
        self._counted(journeys)
        missing = sorted(journeys - self._counted_journeys)
        if missing:
            raise NoAvailability(f"{missing[0]} has no seats to reserve")
        return [SeatChanges.holding(order_code, reservations)]

    def _confirming(self, order: Order, act: Callable[[], object]) -> list[SeatChanges]:
        """Run a step that may confirm the order; if it does, the seats of lines replaced or
        cancelled since the last confirmation are released in the same save."""
        releasable = order.reservations_of_inactive_lines()
        act()
        if order.status != CONFIRMED or not releasable:
            return []
        return self._release_seats(releasable)

    def _release_seats(self, reservations: list[SeatReservation]) -> list[SeatChanges]:
        """Give seats back in the save's own transaction (a hold already given back counts once)."""
        if not reservations:
            return []
        self._counted(r.dated_service_journey_id for r in reservations)
        return [SeatChanges.releasing(reservations)]

    def get_payment(self, payment_id: str, organisation_id: int | None) -> Payment:
        return self._get_owned(Payment, payment_id, PaymentNotFound, organisation_id)

    def _get_owned(self, kind: type[OwnedT], public_id: str, not_found: Callable[[str], Exception],
                   organisation_id: int | None) -> OwnedT:
        """An aggregate by its UUID text, seen only by its own organisation (None: any)."""
        try:
            found = self._get(kind, UUID(public_id), public_id, not_found)
        except ValueError:
            raise not_found(public_id) from None
        if organisation_id is not None and found.organisation_id != organisation_id:
            raise not_found(public_id)
        return found

    def _cancelled_payment(self, payment_id: str | None, reason: str,
                           ctx: CommandContext) -> list[Aggregate]:
        if payment_id is None:
            return []
        payment = self.get_payment(payment_id, None)
        payment.cancel(self.clock(), reason, ctx.as_event_data())
        return [payment]
