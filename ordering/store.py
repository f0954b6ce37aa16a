"""The event store, without the library's blind retries, and with idempotency answers and seat
holds written in the events' own transaction (``ordering.idempotency``, ``ordering.seats``).

eventsourcing's PostgreSQL recorder retries a failed call ten times. For a read that only makes
an outage last 30-40 s before anyone hears of it; for a write it is worse: a commit that
succeeded on a connection that then dropped is sent again, refused as a version conflict, and
the command above runs a second time. Here each call fails at once; the application decides
what an unknown outcome means (``OrderingApplication._saved_despite``) and the HTTP layer
answers 503. ``PERSISTENCE_MODULE`` names ``OrderStoreFactory`` or, on SQLite,
``SQLiteOrderStoreFactory`` (``Settings.eventsourcing_env``).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, PersistenceError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore, SQLiteFactory
from psycopg.sql import SQL, Identifier
from psycopg_pool import PoolTimeout

from ordering import save_function
from ordering.idempotency import IdempotencyTables, answer_of
from ordering.seats import SeatTables, seat_changes_of

# A database that cannot answer now (lost connection, pool timeout, locked SQLite file): the
# request's fault is none of these, so they answer 503 and never park an event.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError,
                      psycopg.InterfaceError, sqlite3.OperationalError)


def _without_retry(method: Any) -> Any:
    return getattr(method, "__wrapped__", method)


log = logging.getLogger(__name__)
APPLICATION_NAME_KEY = "ORDERS_APPLICATION_NAME"  # set by Settings.eventsourcing_env


def _read_again_once(method: Any) -> Any:
    """A read that met a connection broken while it sat in the pool (the database restarted,
    a proxy dropped it) runs once more, after the pool has checked its idle connections and
    dropped the broken ones (others like it would fail the retry too). A pool timeout is not
    retried: an outage still answers within its bound."""
    read = _without_retry(method)

    @functools.wraps(read)
    def again(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return read(self, *args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if isinstance(error.__cause__, PoolTimeout):
                raise
            with contextlib.suppress(psycopg.Error):
                self.datastore.pool.check()
            return read(self, *args, **kwargs)

    return again


class SnapshotRecorder(PostgresAggregateRecorder):
    """Snapshots: every aggregate load reads them first."""

    insert_events = _without_retry(PostgresAggregateRecorder.insert_events)
    select_events = _read_again_once(PostgresAggregateRecorder.select_events)


class SaveFunctionMissing(Exception):
    """Raised inside the datastore's connection block, which turns psycopg's errors into the
    library's: this one passes through as it is."""


class OrderStoreRecorder(PostgresApplicationRecorder):
    """The events and their notification log; idempotency answers and seats in the same
    transaction, by one call of a server-side function (``ordering.save_function``)."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        self.idempotency = IdempotencyTables(datastore, datastore.schema)
        self.seats = SeatTables(datastore, datastore.schema)
        self.sql_create_statements.extend(
            SQL(s).format() for s in [*self.idempotency.create_statements(), *self.seats.create_statements()])
        schema = datastore.schema
        self.save_function = save_function.function_name(self.events_table_name)
        self.save_function_statement = SQL(save_function.create_statement(
            schema, self.events_table_name, self.stored_event_type_name, self.channel_name,
            datastore.lock_timeout, self.seats, self.idempotency.answers)).format()
        self.sql_create_statements.append(self.save_function_statement)
        self.save_statement = SQL(save_function.call_statement(schema, self.events_table_name)).format()

    def _save_in_one_statement(self, stored_events: Sequence[StoredEvent],
                               **kwargs: Any) -> Sequence[int] | None:
        """Seats, answer and events in one call of the save function (``ordering.save_function``)."""
        events = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                  for e in stored_events]
        arguments = save_function.parameters(events, seat_changes_of(kwargs), answer_of(kwargs))
        try:
            return self._call_save(arguments)
        except SaveFunctionMissing:  # a store an earlier release made: made now, once
            self._create_save_function()
            return self._call_save(arguments)

    def _call_save(self, arguments: tuple[Any, ...]) -> list[int]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(self.save_statement, arguments, prepare=True)
            except psycopg.errors.UndefinedFunction as error:
                raise SaveFunctionMissing(str(error)) from error
            except psycopg.Error as error:
                refused = save_function.refusal(error, self.seats)
                if refused is None:
                    raise
                raise refused from None
            return [row[self.save_function] for row in curs.fetchall()]

    def _create_save_function(self) -> None:
        """For a store whose tables an earlier release made (``init-db`` makes it too). Several
        processes may try at once: the one that loses finds it made."""
        log.warning("the event store has no %s function yet: making it (run init-db on upgrades)",
                    self.save_function)
        with contextlib.suppress(PersistenceError), self.datastore.get_connection() as conn:
            conn.execute(self.save_function_statement)

    def _select_histories(self, last_versions: Mapping[UUID, int]) -> dict[UUID, list[StoredEvent]]:
        """The events of several aggregates, each up to its version, in one query (a follower's
        batch of orders it has not seen lately, instead of a query per order)."""
        ids = list(last_versions)
        statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state "
            "FROM unnest(%s::{id_type}[], %s::bigint[]) AS wanted (id, last) "
            "JOIN {schema}.{table} e ON e.originator_id = wanted.id AND e.originator_version <= wanted.last "
            "ORDER BY e.originator_id, e.originator_version").format(
            id_type=SQL(self.datastore.originator_id_type), schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name))
        found: dict[UUID, list[StoredEvent]] = {}
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute(statement, (ids, [last_versions[i] for i in ids]))
            for row in cursor.fetchall():
                found.setdefault(UUID(str(row["originator_id"])), []).append(StoredEvent(
                    originator_id=row["originator_id"], originator_version=row["originator_version"],
                    topic=row["topic"], state=bytes(row["state"])))
        return found

    insert_events = _save_in_one_statement
    select_events = _read_again_once(PostgresApplicationRecorder.select_events)
    select_histories = _read_again_once(_select_histories)
    select_notifications = _read_again_once(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _read_again_once(PostgresApplicationRecorder.max_notification_id)


class OrderStoreFactory(PostgresFactory):
    aggregate_recorder_class = SnapshotRecorder
    application_recorder_class = OrderStoreRecorder

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pool waits ``timeout`` for a connection; a new connection should not wait longer.
        pool = self.datastore.pool
        if isinstance(pool.kwargs, dict):
            pool.kwargs.setdefault("connect_timeout", max(1, round(pool.timeout)))
            name = self.env.get(APPLICATION_NAME_KEY)
            if name:
                pool.kwargs.setdefault("application_name", name)


class SQLiteOrderStoreRecorder(SQLiteApplicationRecorder):
    """The events on SQLite; idempotency answers and seats in the same transaction."""

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        self.idempotency = IdempotencyTables(datastore, None)
        self.seats = SeatTables(datastore, None)
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *self.idempotency.create_statements(),
                *self.seats.create_statements()]

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        _write_beside(self, c, kwargs)
        return notification_ids


def _write_beside(recorder: SQLiteOrderStoreRecorder, cursor: Any,
                  kwargs: dict[str, Any]) -> None:
    """What a save carries besides its events: the seats it holds and gives back (a hold that
    does not fit raises, and the transaction rolls back), the answer to its request."""
    seats = seat_changes_of(kwargs)
    if seats is not None:
        recorder.seats.apply(cursor, seats)
    answer = answer_of(kwargs)
    if answer is not None:
        recorder.idempotency.insert_answer(cursor, answer)


class SQLiteOrderStoreFactory(SQLiteFactory):
    application_recorder_class = SQLiteOrderStoreRecorder


class MemorySeatStore:
    """For the in-memory event store (unit tests): the seat tables in an in-memory SQLite
    database, used under the recorder's own lock."""

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self.connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[sqlite3.Cursor]:
        with self.lock:
            cursor = self.connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT" if commit else "ROLLBACK")


class MemoryOrderStoreRecorder(POPOApplicationRecorder):
    """The library's in-memory recorder with the seats applied in the same step as the events."""

    def __init__(self) -> None:
        super().__init__()
        self.seats = SeatTables(MemorySeatStore(self._database_lock), None)
        with self.seats.datastore.transaction(commit=True) as cursor:
            for statement in self.seats.create_statements():
                cursor.execute(statement)

    def _insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self._database_lock:
            self._assert_uniqueness(stored_events, **kwargs)
            seats = seat_changes_of(kwargs)
            with self.seats.datastore.transaction(commit=True) as cursor:
                if seats is not None:
                    self.seats.apply(cursor, seats)
                return self._update_table(stored_events, **kwargs)


class MemoryOrderStoreFactory(POPOFactory):
    def application_recorder(self) -> MemoryOrderStoreRecorder:
        return MemoryOrderStoreRecorder()


FACTORY_TOPIC = f"{OrderStoreFactory.__module__}:{OrderStoreFactory.__qualname__}"
MEMORY_FACTORY_TOPIC = f"{MemoryOrderStoreFactory.__module__}:{MemoryOrderStoreFactory.__qualname__}"
SQLITE_FACTORY_TOPIC = f"{SQLiteOrderStoreFactory.__module__}:{SQLiteOrderStoreFactory.__qualname__}"
