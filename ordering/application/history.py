"""Reading an order's past: the order as it stood at an instant, and what changed between versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from ordering.application.base import CommandRunner, watched
from ordering.domain.errors import OrderNotFound, VersionNotFound
from ordering.domain.history import (
    NoVersionAt,
    VersionChanges,
    changes_between,
    event_instant,
    version_at,
)
from ordering.domain.order import Order
from ordering.domain.order_ids import order_uuid


class HistoryQueries(CommandRunner):
    """Time travel and version diffs, rebuilt from the order's events."""

    def order_at(self, order_id: str, organisation_id: int | None, at: datetime) -> Order:
        """The order exactly as it stood at ``at`` (confirmed or not), by bisecting its events'
        instants (one stored event read per step) and loading that event version."""
        order = self._load(order_id, organisation_id)
        if at >= order.modified_on:
            return order
        instant = self._instants_of(order)
        if at < instant(1):
            raise NoVersionAt(order_id, at)
        event_version = version_at(instant, order.version, at)
        if event_version == order.version:
            return order
        return watched(self._get(Order, order_uuid(order_id), order_id, OrderNotFound, event_version),
                       loaded=False)

    def _instants_of(self, order: Order) -> Callable[[int], datetime]:
        @cache
        def instant(event_version: int) -> datetime:
            stored = self.recorder.select_events(order.id, gt=event_version - 1, lte=event_version)
            domain_event: Any = self.mapper.to_domain_event(stored[0])
            business = getattr(domain_event, "at", None) or getattr(domain_event, "created_at", None)
            return event_instant(domain_event.timestamp, business)

        return instant

    def order_changes(self, order_id: str, organisation_id: int | None, from_version: int,
                      to_version: int) -> VersionChanges:
        """What changed from confirmed version ``from_version`` to ``to_version`` (confirmed, or
        the current one)."""
        current = self._load(order_id, organisation_id)
        return changes_between(self._version_of(current, from_version),
                               self._version_of(current, to_version))

    def _version_of(self, current: Order, version: int) -> Order:
        if version == current.order_version:
            return current
        event_version = current.event_version_of_confirmed(version)
        if event_version is None:
            raise VersionNotFound(current.code, version)
        return self._get(Order, current.id, current.code, OrderNotFound, event_version)
