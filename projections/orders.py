"""The order projection: follows the notification log and keeps one row (plus terms) per order.

Rows and the tracked position are written in one transaction while the tracking row is locked,
so each event counts exactly once however many processes advance the projection at once.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from ordering.application import OrderingApplication
from ordering.application.topics import topic_prefixes
from ordering.domain.order import Order
from ordering.store import UNAVAILABLE_ERRORS
from projections.db import PortableCursor, ReadModelDatabase
from projections.documents import fast_order_document
from projections.parking import Parked, park, unpark
from projections.schema import ORDER_COLUMNS, TERM_COLUMNS, orders_table, terms_table

log = logging.getLogger(__name__)
ORDER_TOPIC_PREFIXES = topic_prefixes(Order)  # today's first, then where earlier releases put it
ORDER_TOPIC_PREFIX = ORDER_TOPIC_PREFIXES[0]
LEG_TEXT_TERMS = ("serviceJourneyId", "datedServiceJourneyId", "originalDatedServiceJourneyId",
                  "fromStopPlaceId", "toStopPlaceId")
LEG_TIME_TERMS = ("startTime", "endTime")
CACHE_SIZE = 20_000
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def cents(amount: Decimal) -> int:
    return int(amount * 100)


def micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def storable(text: str | None) -> str | None:
    """Text a read-model column can hold: PostgreSQL text takes no NUL and no lone surrogate.
    The boundary refuses both now; events stored before it did may still carry them."""
    return None if text is None else UNSTORABLE.sub("\ufffd", text)


def order_row(order: Order, document: Callable[[Order], dict[str, Any]] = fast_order_document
              ) -> tuple[Any, ...]:
    """The order's row; ``document`` makes its JSON (the default dumps what the API's own
    ``order_document`` dumps, faster)."""
    row = {
        "id": order.code, "organisation_id": order.organisation_id, "status": order.status,
        "currency": order.currency, "pos": storable(order.pos),
        "distribution_channel_id": storable(order.distribution_channel_id),
        "external_reference": storable(order.external_reference),
        "created_by": storable(order.created_by),
        "balance": cents(order.balance), "total_amount": cents(order.total_amount),
        "total_tax_amount": cents(order.total_tax_amount), "version": order.order_version,
        "created_at": micros(order.created_at), "last_confirmed_at": micros(order.last_confirmed_at),
        "expire_at": micros(order.expire_at), "has_unconfirmed": int(order.has_unconfirmed_changes),
        "locked": int(order.locked), "locked_at": micros(order.lock.locked_at) if order.lock else None,
        "document": json.dumps(document(order), separators=(",", ":")),
    }
    return tuple(row[column] for column in ORDER_COLUMNS)


def order_terms(order: Order) -> list[tuple[str, str, str | None, int | None]]:
    """What the line- and leg-level filters match: one row per value of an active line or leg."""
    terms: list[tuple[str, str | None, int | None]] = []
    for value in (order.contact_info or {}).values():
        terms.append(("contact", value, None))
    for line in order.active_lines:
        terms.append(("orderLineId", line.id, None))
        terms.append(("orderLineExternalReference", line.external_reference, None))
        terms.extend(("reservationId", rid, None) for rid in line.reservation_ids)
        terms.append(("salesPackageId", line.sales_package_ref.id, None))
        terms.append(("salesPackageVersion", line.sales_package_ref.version, None))
        for product in line.fare_products:
            terms.append(("fareProductId", product.id, None))
            terms.append(("fareProductVersion", product.version, None))
        for leg in line.legs:
            wire = leg.to_wire()
            terms.extend((name, wire[name], None) for name in LEG_TEXT_TERMS)
            terms.extend((name, None, micros(wire[name])) for name in LEG_TIME_TERMS)
    unique = {(name, storable(text), number) for name, text, number in terms
              if text is not None or number is not None}
    return [(order.code, *term) for term in sorted(unique, key=repr)]


class OrderProjector:
    def __init__(self, application: OrderingApplication, database: ReadModelDatabase,
                 batch_size: int = 500) -> None:
        self.application = application
        self.database = database
        self.batch_size = batch_size
        self._orders: OrderedDict[UUID, Order] = OrderedDict()
        self._cache_lock = threading.Lock()

    def active_generation(self) -> int:
        with self.database.transaction() as cursor:
            cursor.execute("SELECT generation FROM projection_active WHERE id = 1")
            return int(cursor.fetchone()[0])

    def catch_up(self, generation: int | None = None, until: int | None = None) -> int:
        """Apply every new event to the (active) generation; returns how many were read."""
        total = 0
        while True:
            read = self.advance(generation, until)
            total += read
            if read < self.batch_size:
                return total

    def advance(self, generation: int | None = None, until: int | None = None) -> int:
        """One batch, in one transaction with the tracked position."""
        with self.database.transaction(write=True) as cursor:
            generation = generation or self._active(cursor)
            position = self._locked_position(cursor, generation)
            if position is None:
                return 0  # that generation was switched away and dropped meanwhile
            notifications = self.application.recorder.select_notifications(
                start=position, limit=self.batch_size, stop=until, inclusive_of_start=False)
            if not notifications:
                return 0
            self._project(cursor, generation, notifications)
            return len(notifications)

    def apply(self, notifications: Sequence[Any]) -> None:
        """A batch read by a follower, in one transaction with the tracked position of the
        active generation; ``IntegrityError`` when another follower projected it first."""
        with self.database.transaction(write=True) as cursor:
            generation = self._active(cursor)
            position = self._locked_position(cursor, generation)
            if position is None or position >= notifications[0].id:
                raise IntegrityError(f"read model generation {generation} is already at {position}")
            self._project(cursor, generation, notifications)

    def tracked_position(self) -> int:
        with self.database.transaction() as cursor:
            cursor.execute("SELECT t.position FROM projection_tracking t JOIN projection_active a "
                           "ON a.generation = t.generation WHERE a.id = 1")
            return int(cursor.fetchone()[0])

    def _locked_position(self, cursor: PortableCursor, generation: int) -> int | None:
        cursor.execute("SELECT position FROM projection_tracking WHERE generation = ?"
                       + self.database.lock_clause(), (generation,))
        found = cursor.fetchone()
        return None if found is None else int(found[0])

    def _project(self, cursor: PortableCursor, generation: int, notifications: Sequence[Any]) -> None:
        batch = self._orders_after(notifications)
        parked = batch.parked + self._write_each_that_can(cursor, generation, batch)
        park(cursor, generation, parked)
        unpark(cursor, generation, [str(order_id) for order_id in batch.orders
                                    if str(order_id) not in {p.aggregate_id for p in parked}])
        cursor.execute("UPDATE projection_tracking SET position = ?, applied = applied + ? "
                       "WHERE generation = ?", (notifications[-1].id, len(notifications), generation))

    def _active(self, cursor: PortableCursor) -> int:
        cursor.execute("SELECT generation FROM projection_active WHERE id = 1")
        return int(cursor.fetchone()[0])

    def _orders_after(self, notifications: Any) -> Batch:
        """The state each order of the batch ends in. At an event that cannot be decoded or
        folded, the order stops at the state before it and is parked; the others go on."""
        batch = Batch()
        ours = [n for n in notifications if n.topic.startswith(ORDER_TOPIC_PREFIXES)]
        final_version = {n.originator_id: n.originator_version for n in ours}
        self._read_together(ours, final_version)
        for notification in ours:
            order_id = notification.originator_id
            batch.last_seen[order_id] = notification.id
            if order_id in batch.parked_ids:
                continue
            try:
                batch.orders[order_id] = self._fold(notification, final_version[order_id])
            except UNAVAILABLE_ERRORS:
                raise
            except Exception as error:
                batch.parked.append(Parked.because(error, order_id, notification.id))
                self._stop_before(batch, order_id, notification.originator_version)
        return batch

    def _fold(self, notification: Any, final_version: int) -> Order:
        order_id = notification.originator_id
        cached = self._orders.get(order_id)
        if cached is not None and cached.version == final_version:
            return cached  # already the state this batch ends in
        domain_event = self.application.mapper.to_domain_event(notification)
        order = cast_mutate(domain_event, self._order_before(order_id, notification.originator_version))
        self._remember(order)
        return order

    def _read_together(self, notifications: Sequence[Any], final_version: dict[UUID, int]) -> None:
        """The orders of a batch whose state before it is not in the cache (last changed long
        ago, or in another process), read in one query rather than one each."""
        def cached(order_id: UUID, version: int) -> bool:
            order = self._orders.get(order_id)  # the state before, or already the batch's last
            return order is not None and order.version in (version - 1, final_version[order_id])

        for order in self.application.load_before(notifications, cached).values():
            self._remember(order)

    def _stop_before(self, batch: Batch, order_id: UUID, event_version: int) -> None:
        """The order as it stood before the event that failed (a failed fold may have left
        the cached one half changed), or nothing when that cannot be had either."""
        self._forget(order_id)
        batch.orders.pop(order_id, None)
        try:
            before = self._order_before(order_id, event_version)
        except UNAVAILABLE_ERRORS:
            raise
        except Exception:
            return
        if before is not None:
            batch.orders[order_id] = before

    def _order_before(self, order_id: UUID, event_version: int) -> Order | None:
        cached = self._orders.get(order_id)
        if cached is not None and cached.version == event_version - 1:
            return cached
        if event_version == 1:
            return None
        order: Order = self.application.repository.get(order_id, version=event_version - 1)
        return order

    def _forget(self, order_id: UUID) -> None:
        with self._cache_lock:
            self._orders.pop(order_id, None)

    def _remember(self, order: Order) -> None:
        with self._cache_lock:  # saves on other threads remember orders outside the DB lock
            self._orders[order.id] = order
            self._orders.move_to_end(order.id)
            while len(self._orders) > CACHE_SIZE:
                self._orders.popitem(last=False)

    def _write_each_that_can(self, cursor: PortableCursor, generation: int, batch: Batch) -> list[Parked]:
        """Write the batch's rows at once; if the database refuses one, write them one by one
        and park those it refuses. Returns what was parked."""
        parked: list[Parked] = []
        rows: list[OrderRows] = []
        for order_id, order in batch.orders.items():
            try:
                rows.append(OrderRows.of(order))
            except Exception as error:  # the order's own data: nothing of the database's
                parked.append(Parked.because(error, order_id, batch.last_seen[order_id], order.code))
        if refused_write(cursor, generation, rows) is None:
            return parked
        for one in rows:
            refused = refused_write(cursor, generation, [one])
            if refused is not None:
                parked.append(Parked.because(refused, one.order.id, batch.last_seen[one.order.id],
                                             one.order.code))
        return parked



@dataclass
class Batch:
    """What one batch of notifications leads to: orders to write, orders parked."""

    orders: dict[UUID, Order] = field(default_factory=dict)
    last_seen: dict[UUID, int] = field(default_factory=dict)
    parked: list[Parked] = field(default_factory=list)

    @property
    def parked_ids(self) -> set[UUID]:
        return {UUID(p.aggregate_id) for p in self.parked}


@dataclass(frozen=True)
class OrderRows:
    order: Order
    row: tuple[Any, ...]
    terms: list[tuple[str, str, str | None, int | None]]

    @classmethod
    def of(cls, order: Order) -> OrderRows:
        return cls(order, order_row(order), order_terms(order))


def refused_write(cursor: PortableCursor, generation: int, rows: list[OrderRows]) -> Exception | None:
    """Write the rows; if the database refuses them for what they hold, write nothing of them
    and return why."""
    cursor.execute("SAVEPOINT order_rows")
    try:
        write_rows(cursor, generation, rows)
    except UNAVAILABLE_ERRORS:
        raise
    except Exception as error:
        log.warning("read model refused rows of %s: %s", [r.order.code for r in rows], error)
        cursor.execute("ROLLBACK TO SAVEPOINT order_rows")
        return error
    cursor.execute("RELEASE SAVEPOINT order_rows")
    return None


def write_rows(cursor: PortableCursor, generation: int, rows: list[OrderRows]) -> None:
    """Replace the rows and terms of these orders, in bulk (COPY on PostgreSQL)."""
    if not rows:
        return
    table, terms = orders_table(generation), terms_table(generation)
    codes = [r.order.code for r in rows]
    cursor.delete_in(terms, "order_id", codes)
    cursor.delete_in(table, "id", codes)
    cursor.insert_rows(table, ORDER_COLUMNS, [r.row for r in rows])
    cursor.insert_rows(terms, TERM_COLUMNS, [term for r in rows for term in r.terms])


def cast_mutate(domain_event: Any, order: Order | None) -> Order:
    mutated: Order = domain_event.mutate(order)
    return mutated
