"""Events a projector could not apply are parked, so one bad event never stops the others.

A parked order is recorded with the notification that failed and why; the projector goes on
with everything else. When a later event of that order projects cleanly, its parking is
lifted. ``flask --app app retry-parked`` projects every parked order again from its events
(after a fix has been deployed), and ``status`` and ``/health/ready`` report what is parked.

Failures of the database itself (``ordering.store.UNAVAILABLE_ERRORS``: a lost connection, a
locked SQLite file) are not the event's fault: they abort the batch, which runs again from the
same position.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from projections.db import PortableCursor

MAX_REASON = 500
UNPARK_CHUNK = 500


@dataclass(frozen=True)
class Parked:
    aggregate_id: str
    order_id: str | None
    notification_id: int
    reason: str

    @classmethod
    def because(cls, error: Exception, aggregate_id: Any, notification_id: int,
                order_id: str | None = None) -> Parked:
        reason = f"{type(error).__name__}: {error}".replace("\x00", "\\0")[:MAX_REASON]
        return cls(str(aggregate_id), order_id, notification_id, reason)

    def as_json(self) -> dict[str, Any]:
        return {"aggregateId": self.aggregate_id, "orderId": self.order_id,
                "notificationId": self.notification_id, "reason": self.reason}


def park(cursor: PortableCursor, generation: int, parked: list[Parked]) -> None:
    now = int(time.time())
    for entry in parked:
        cursor.execute("DELETE FROM projection_parked WHERE generation = ? AND aggregate_id = ?",
                       (generation, entry.aggregate_id))
        cursor.execute("INSERT INTO projection_parked (generation, aggregate_id, order_id, "
                       "notification_id, reason, parked_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (generation, entry.aggregate_id, entry.order_id, entry.notification_id,
                        entry.reason, now))


def unpark(cursor: PortableCursor, generation: int, aggregate_ids: list[str]) -> None:
    """Lift the parking of orders that projected cleanly (one statement per chunk)."""
    for start in range(0, len(aggregate_ids), UNPARK_CHUNK):
        chunk = aggregate_ids[start:start + UNPARK_CHUNK]
        cursor.execute(f"DELETE FROM projection_parked WHERE generation = ? AND aggregate_id IN "
                       f"({', '.join('?' * len(chunk))})", (generation, *chunk))


def parked_in(cursor: PortableCursor, generation: int, limit: int = 1000) -> list[Parked]:
    cursor.execute("SELECT aggregate_id, order_id, notification_id, reason FROM projection_parked "
                   "WHERE generation = ? ORDER BY notification_id LIMIT ?", (generation, limit))
    return [Parked(str(a), o, int(n), str(r)) for a, o, n, r in cursor.fetchall()]


def count_parked(cursor: PortableCursor, generation: int) -> int:
    cursor.execute("SELECT COUNT(*) FROM projection_parked WHERE generation = ?", (generation,))
    return int(cursor.fetchone()[0])
