"""How far behind the read model and the expiry sweeps are, for the metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from projections import ReadModel
from projections.orders import micros
from projections.schema import orders_table


@dataclass(frozen=True)
class Lag:
    events: int  # notifications in the event log the read model has not applied yet
    seconds: float  # age of the oldest of them (0 when caught up)
    expiry_seconds: float  # how long the most overdue order has waited for its expiry (0: none)


def measure(read_model: ReadModel, now: datetime, lock_deadline: datetime) -> Lag:
    position, head = read_model.position()
    return Lag(max(0, head - position), _oldest_unprojected_age(read_model, position, head, now),
               _oldest_due_age(read_model, now, lock_deadline))


def _oldest_unprojected_age(read_model: ReadModel, position: int, head: int, now: datetime) -> float:
    if head <= position:
        return 0.0
    application = read_model.application
    notifications = application.recorder.select_notifications(position + 1, 1)
    if not notifications:
        return 0.0
    event: Any = application.mapper.to_domain_event(notifications[0])
    return max(0.0, (now - event.timestamp).total_seconds())


def _oldest_due_age(read_model: ReadModel, now: datetime, lock_deadline: datetime) -> float:
    """The same orders the sweep looks for (``ReadModel.due_orders``): the earliest ``expireAt``."""
    table = orders_table(read_model.projector.active_generation())
    with read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT MIN(expire_at) FROM {table} WHERE has_unconfirmed = 1 AND expire_at <= ? "
                       "AND (locked = 0 OR locked_at <= ?)", (micros(now), micros(lock_deadline)))
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return 0.0
    oldest = datetime.fromtimestamp(int(row[0]) / 1_000_000, UTC)
    return max(0.0, (now - oldest).total_seconds())
