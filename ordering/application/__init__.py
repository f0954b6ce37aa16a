"""The application service: every use case of the order service, grouped by capability.

``base`` runs and saves units of work; ``sales``, ``after_sales``, ``refunds``, ``payments``,
``expiry`` and ``catalogue`` hold the commands. One ``OrderingApplication`` has them all, over
one event store.
"""

from __future__ import annotations

from ordering.application import topics  # noqa: F401  (old topics resolve before any load)
from ordering.application.after_sales import LineReplacement
from ordering.application.base import Clock
from ordering.application.catalogue import CatalogueCommands
from ordering.application.expiry import EXPIRY_ACTOR, ExpiryCommands
from ordering.application.feed import FeedQueries
from ordering.application.history import HistoryQueries
from ordering.application.payments import PaymentCommands
from ordering.application.refunds import RefundCommands, RefundOutcome
from ordering.application.sales import Reservation, SalesCommands, TrailEntry
from ordering.domain.inventory import Departure
from ordering.domain.order import Order

__all__ = ["EXPIRY_ACTOR", "Clock", "LineReplacement", "OrderingApplication", "RefundOutcome", "Reservation",
           "TrailEntry"]


class OrderingApplication(SalesCommands, RefundCommands, PaymentCommands, ExpiryCommands,
                          CatalogueCommands, HistoryQueries, FeedQueries):
    """Refunds build on the after-sales commands (``RefundCommands`` includes them)."""

    name = "orders"
    snapshotting_intervals = {Order: 100, Departure: 100}
