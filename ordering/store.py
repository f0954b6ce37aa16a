"""The event store on PostgreSQL, without the library's blind retries.

eventsourcing's PostgreSQL recorder retries a failed call ten times. For a read that only makes
an outage last 30-40 s before anyone hears of it; for a write it is worse: a commit that
succeeded on a connection that then dropped is sent again, refused as a version conflict, and
the command above runs a second time. Here each call fails at once; the application decides
what an unknown outcome means (``OrderingApplication._saved_despite``) and the HTTP layer
answers 503. ``PERSISTENCE_MODULE`` names ``OrderStoreFactory`` (``Settings.eventsourcing_env``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory

# A database that cannot answer now (lost connection, pool timeout, locked SQLite file): the
# request's fault is none of these, so they answer 503 and never park an event.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError,
                      psycopg.InterfaceError, sqlite3.OperationalError)


def _without_retry(method: Any) -> Any:
    return getattr(method, "__wrapped__", method)


class SnapshotRecorder(PostgresAggregateRecorder):
    """Snapshots: every aggregate load reads them first."""

    insert_events = _without_retry(PostgresAggregateRecorder.insert_events)
    select_events = _without_retry(PostgresAggregateRecorder.select_events)


class OrderStoreRecorder(PostgresApplicationRecorder):
    """The events and their notification log."""

    insert_events = _without_retry(PostgresApplicationRecorder.insert_events)
    select_events = _without_retry(PostgresApplicationRecorder.select_events)
    select_notifications = _without_retry(PostgresApplicationRecorder.select_notifications)
    max_notification_id = _without_retry(PostgresApplicationRecorder.max_notification_id)


class OrderStoreFactory(PostgresFactory):
    aggregate_recorder_class = SnapshotRecorder
    application_recorder_class = OrderStoreRecorder

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The pool waits ``timeout`` for a connection; a new connection should not wait longer.
        pool = self.datastore.pool
        if isinstance(pool.kwargs, dict):
            pool.kwargs.setdefault("connect_timeout", max(1, round(pool.timeout)))


FACTORY_TOPIC = f"{OrderStoreFactory.__module__}:{OrderStoreFactory.__qualname__}"
