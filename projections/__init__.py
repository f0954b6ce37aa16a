"""Read models built from the event stream: the order search table, disposable and rebuildable.

The write path only stores events. A follower of the event log (``ordering.following``: one
leader among the processes) projects them; a search first waits, bounded, until the projection
has passed every event stored before it began, so a change the service has answered for is
visible to the next search (read your writes). Where no follower runs in the process (the CLI,
tests) or none keeps up in time, the search projects what is missing itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ordering.application import OrderingApplication
from projections.db import ReadModelDatabase
from projections.orders import OrderProjector, micros
from projections.parking import Parked, count_parked, parked_in
from projections.schema import create_read_model, orders_table
from projections.search import Query, SearchPage, search

log = logging.getLogger(__name__)
# the expiry sweep's look (read by the ``_due_soonest`` index in the order it takes them)
DUE_ORDERS = ("SELECT id FROM {table} WHERE has_unconfirmed = 1 AND expire_at <= ? "
              "AND (locked = 0 OR locked_at <= ?) ORDER BY expire_at, id LIMIT ?")


SETTLE_SECONDS = 2.0  # the longest a search waits for the follower before projecting itself
SETTLE_POLL_SECONDS = 0.005


class ReadModel:
    def __init__(self, application: OrderingApplication, database: ReadModelDatabase,
                 settle_seconds: float = SETTLE_SECONDS) -> None:
        self.application = application
        self.database = database
        self.projector = OrderProjector(application, database)
        self.settle_seconds = settle_seconds
        self.followed = False  # a follower thread of this process projects (leading or standing by)
        self.on_saved: list[Callable[[], None]] = []  # wakes this process's follower
        self._progress = threading.Condition()

    def create_tables(self) -> None:
        with self.database.transaction(write=True) as cursor:
            create_read_model(cursor)

    def catch_up(self) -> int:
        return self.projector.catch_up()

    def saved(self, _saved: Sequence[Any] = ()) -> None:
        """After each save (the write path): wake the follower, project nothing here."""
        for wake in self.on_saved:
            wake()

    def settle(self, elsewhere_seconds: float = 0.0) -> None:
        """Read your writes: return once the projection has passed every event stored before
        this call. Wait for the follower (this process's at most ``settle_seconds``; where only
        another process follows, at most ``elsewhere_seconds``), then project the rest here."""
        head = self.application.recorder.max_notification_id() or 0
        wait = self.settle_seconds if self.followed else elsewhere_seconds
        if wait > 0 and self._passes(head, wait):
            return
        self.projector.catch_up(until=head)

    def _passes(self, head: int, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while self.projector.tracked_position() < head:
            if time.monotonic() >= deadline:
                log.warning("the read model follower is behind; projecting here")
                return False
            with self._progress:
                self._progress.wait(SETTLE_POLL_SECONDS)
        return True

    def apply(self, notifications: Sequence[Any]) -> None:
        """A follower's batch; those waiting in ``settle`` look again at once."""
        self.projector.apply(notifications)
        with self._progress:
            self._progress.notify_all()

    def search(self, organisation_id: int, query: Query) -> dict[str, Any]:
        return self.search_page(organisation_id, query).to_dict()

    def search_page(self, organisation_id: int, query: Query) -> SearchPage:
        """After the caller's own writes are projected (``settle``)."""
        self.settle()
        return search(self.database, self.projector.active_generation(), organisation_id, query)

    def due_orders(self, now: datetime, lock_deadline: datetime, limit: int) -> list[str]:
        """Orders with unconfirmed changes past ``expireAt``, oldest first; a locked one only
        once its lock was taken at or before ``lock_deadline``."""
        table = orders_table(self.projector.active_generation())
        with self.database.transaction() as cursor:
            cursor.execute(DUE_ORDERS.format(table=table), (micros(now), micros(lock_deadline), limit))
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


class ReadModelFollowing:
    """The read model as a consumer of the follower (``projections.follower``)."""

    name = "read-model"

    def __init__(self, read_model: ReadModel) -> None:
        self.read_model = read_model

    def position(self) -> int:
        return self.read_model.projector.tracked_position()

    def process(self, notifications: Sequence[Any]) -> None:
        self.read_model.apply(notifications)
