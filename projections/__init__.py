"""Read models built from the event stream: the order search table, disposable and rebuildable."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ordering.application import OrderingApplication
from projections.db import ReadModelDatabase
from projections.orders import OrderProjector, micros
from projections.parking import Parked, count_parked, parked_in
from projections.schema import create_read_model, orders_table
from projections.search import Query, search

log = logging.getLogger(__name__)


class ReadModel:
    def __init__(self, application: OrderingApplication, database: ReadModelDatabase) -> None:
        self.application = application
        self.database = database
        self.projector = OrderProjector(application, database)

    def create_tables(self) -> None:
        with self.database.transaction(write=True) as cursor:
            create_read_model(cursor)

    def catch_up(self) -> int:
        return self.projector.catch_up()

    def catch_up_quietly(self, saved: Sequence[Any] = ()) -> None:
        """After each save: a failure here loses nothing (the next catch-up redoes it)."""
        try:
            self.projector.remember_saved(saved)
            self.projector.catch_up()
        except Exception:
            log.exception("read model catch-up failed; it resumes on the next change")

    def search(self, organisation_id: int, query: Query) -> dict[str, Any]:
        return search(self.database, self.projector.active_generation(), organisation_id, query)

    def due_orders(self, now: datetime, lock_deadline: datetime, limit: int) -> list[str]:
        """Orders with unconfirmed changes past ``expireAt``, oldest first; a locked one only
        once its lock was taken at or before ``lock_deadline``."""
        table = orders_table(self.projector.active_generation())
        with self.database.transaction() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE has_unconfirmed = 1 AND expire_at <= ? "
                           "AND (locked = 0 OR locked_at <= ?) ORDER BY expire_at, id LIMIT ?",
                           (micros(now), micros(lock_deadline), limit))
            return [row[0] for row in cursor.fetchall()]

    def parked(self, limit: int = 1000) -> list[Parked]:
        """What the projector could not apply, oldest first."""
        generation = self.projector.active_generation()
        with self.database.transaction() as cursor:
            return parked_in(cursor, generation, limit)

    def health(self) -> dict[str, int]:
        """Position, head of the event log and how many orders are parked."""
        position, head = self.position()
        generation = self.projector.active_generation()
        with self.database.transaction() as cursor:
            parked = count_parked(cursor, generation)
        return {"position": position, "head": head, "parked": parked}

    def position(self) -> tuple[int, int]:
        """(position of the active generation, head of the notification log)."""
        generation = self.projector.active_generation()
        with self.database.transaction() as cursor:
            cursor.execute("SELECT position FROM projection_tracking WHERE generation = ?", (generation,))
            position = int(cursor.fetchone()[0])
        return position, self.application.recorder.max_notification_id() or 0

    def close(self) -> None:
        self.database.close()
