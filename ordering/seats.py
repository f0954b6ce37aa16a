"""The seats held on each departure, kept in the event store's own database.

``departure_seats`` has one row per journey: its capacity and the seats held, with the guard
``held <= capacity`` checked by the very statement that adds seats. ``seat_holds`` has one row
per reservation (its journey, order and seats), so a hold given back twice counts once. Both are
written inside the transaction that inserts the events of the change: by ``apply`` in the
recorders of ``ordering.store`` on SQLite and in memory, and on PostgreSQL by the same steps in
SQL, in the save function of ``ordering.save_function``. A hold that does not fit fails the
whole save with ``NO_AVAILABILITY``, and nothing of it is stored. The journeys' rows are locked
in one order (sorted) before the event table's lock, so two saves never wait on each other in a
circle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ordering.domain.inventory import (
    Availability,
    CapacityBelowReserved,
    NoAvailability,
    SeatChanges,
    SeatHold,
)

SEATS_KWARG = "seat_changes"  # the save() keyword that carries seat changes into the insert
COUNTS, HOLDS = "departure_seats", "seat_holds"


def seat_changes_of(kwargs: dict[str, Any]) -> SeatChanges | None:
    changes = kwargs.get(SEATS_KWARG)
    return changes if isinstance(changes, SeatChanges) and changes else None


class Datastore(Protocol):
    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...


class SeatTables:
    """The SQL of both tables, for PostgreSQL (``%s``, schema-qualified) and SQLite (``?``)."""

    def __init__(self, datastore: Datastore, schema: str | None) -> None:
        self.datastore = datastore
        self.postgres = schema is not None
        prefix = f'"{schema}".' if schema else ""
        self.counts, self.holds = f"{prefix}{COUNTS}", f"{prefix}{HOLDS}"

    def create_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.counts} (journey_id TEXT PRIMARY KEY, "
            "capacity INTEGER NOT NULL, held INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.holds} (reservation_id TEXT PRIMARY KEY, "
            "journey_id TEXT NOT NULL, order_id TEXT NOT NULL, seats INTEGER NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {HOLDS}_journey ON {self.holds} (journey_id)",
        ]

    def _sql(self, statement: str) -> str:
        return statement if self.postgres else statement.replace("%s", "?")

    def apply(self, cursor: Any, changes: SeatChanges) -> None:
        """Inside the change's own transaction: raises ``NoAvailability`` (or
        ``CapacityBelowReserved``) and so rolls the whole save back when the seats do not fit."""
        released = self._take_back(cursor, changes.released)
        wanted: dict[str, int] = defaultdict(int)
        for hold in changes.held:
            wanted[hold.dated_service_journey_id] += hold.seats
        for journey in sorted(set(wanted) | set(released)):
            self._count(cursor, journey, wanted[journey] - released.get(journey, 0))
        if changes.held:
            cursor.executemany(self._sql(f"INSERT INTO {self.holds} VALUES (%s, %s, %s, %s)"),
                               [(h.reservation_id, h.dated_service_journey_id, h.order_code, h.seats)
                                for h in changes.held])
        for journey, seats in sorted(changes.capacities):
            self._set_capacity(cursor, journey, seats)

    def _take_back(self, cursor: Any, reservation_ids: Sequence[str]) -> dict[str, int]:
        """Delete the holds still on record; the seats they free, by journey. One statement (on
        PostgreSQL the same text for any number of holds: an expiry batch gives back hundreds)."""
        if not reservation_ids:
            return {}
        delete = f"DELETE FROM {self.holds} WHERE reservation_id "
        if self.postgres:
            cursor.execute(delete + "= ANY(%s) RETURNING journey_id, seats", (list(reservation_ids),))
        else:
            marks = ", ".join(["?"] * len(reservation_ids))
            cursor.execute(delete + f"IN ({marks}) RETURNING journey_id, seats", list(reservation_ids))
        freed: dict[str, int] = defaultdict(int)
        for journey, seats in _tuples(cursor.fetchall(), ("journey_id", "seats")):
            freed[journey] += seats
        return freed

    def _count(self, cursor: Any, journey: str, seats: int) -> None:
        cursor.execute(self._sql(f"UPDATE {self.counts} SET held = held + %s "
                                 "WHERE journey_id = %s AND held + %s <= capacity RETURNING held"),
                       (seats, journey, seats))
        if cursor.fetchone() is None and seats > 0:
            raise self._no_availability(cursor, journey, seats)

    def _no_availability(self, cursor: Any, journey: str, seats: int) -> NoAvailability:
        found = self._counted(cursor, journey)
        if found is None:
            return NoAvailability(f"{journey} has no seats to reserve")
        return NoAvailability(f"{journey} has {found.available} seats left, {seats} asked")

    def no_availability(self, journey: str, seats: int) -> NoAvailability:
        """The refusal of a hold that did not fit, once its transaction has rolled back."""
        with self.datastore.transaction(commit=False) as cursor:
            return self._no_availability(cursor, journey, seats)

    def capacity_below_reserved(self, journey: str, seats: int) -> CapacityBelowReserved:
        with self.datastore.transaction(commit=False) as cursor:
            return self._capacity_below_reserved(cursor, journey, seats)

    def _capacity_below_reserved(self, cursor: Any, journey: str, seats: int) -> CapacityBelowReserved:
        found = self._counted(cursor, journey)
        return CapacityBelowReserved(f"{journey} has {found.reserved if found else 0} seats reserved; "
                                     f"its capacity may not be set to {seats}", "seats")

    def _set_capacity(self, cursor: Any, journey: str, seats: int) -> None:
        cursor.execute(self._sql(
            f"INSERT INTO {self.counts} VALUES (%s, %s, 0) ON CONFLICT (journey_id) DO UPDATE "
            f"SET capacity = excluded.capacity WHERE {self.counts}.held <= excluded.capacity "
            "RETURNING held"), (journey, seats))
        if cursor.fetchone() is None:
            raise self._capacity_below_reserved(cursor, journey, seats)

    def _counted(self, cursor: Any, journey: str) -> Availability | None:
        cursor.execute(self._sql(f"SELECT capacity, held FROM {self.counts} WHERE journey_id = %s"),
                       (journey,))
        rows = _tuples(cursor.fetchall(), ("capacity", "held"))
        return Availability(int(rows[0][0]), int(rows[0][1])) if rows else None

    def availability(self, journey: str) -> Availability | None:
        with self.datastore.transaction(commit=False) as cursor:
            return self._counted(cursor, journey)

    def adopt(self, journey: str, capacity: int, holds: Iterable[SeatHold]) -> None:
        """A departure an earlier release kept whole: its capacity and holds, once (a second
        adoption, by another process at the same time, changes nothing)."""
        holds = list(holds)
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self._sql(f"INSERT INTO {self.counts} VALUES (%s, %s, %s) "
                                     "ON CONFLICT (journey_id) DO NOTHING RETURNING journey_id"),
                           (journey, capacity, sum(h.seats for h in holds)))
            if cursor.fetchone() is not None and holds:
                cursor.executemany(self._sql(f"INSERT INTO {self.holds} VALUES (%s, %s, %s, %s)"),
                                   [(h.reservation_id, journey, h.order_code, h.seats) for h in holds])

    def holds_on(self, journey: str) -> dict[str, SeatHold]:
        """Every hold on a journey, by reservation id (for checks and operators)."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(f"SELECT reservation_id, order_id, seats FROM {self.holds} "
                                     "WHERE journey_id = %s"), (journey,))
            rows = _tuples(cursor.fetchall(), ("reservation_id", "order_id", "seats"))
        return {rid: SeatHold(rid, journey, order, int(seats)) for rid, order, seats in rows}


def _tuples(rows: Sequence[Any], names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows as tuples, whether the driver gives dicts (psycopg's dict rows) or tuples."""
    return [tuple(row[name] for name in names) if isinstance(row, dict) else tuple(row) for row in rows]
