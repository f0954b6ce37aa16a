"""What an order is at any moment, and the facts derived from it (totals, balance, due dates).

The ``Order`` aggregate (``ordering.domain.order``) changes this state only through its events;
the facts here are read by its commands, the application and the read model alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordering.domain.errors import (
    ExternalConfirmationPending,
    InvalidRequest,
    OrderLocked,
    VersionMismatch,
)
from ordering.domain.money import ZERO, total
from ordering.domain.values import Fee, Lock, OrderLine, PaymentRef, SeatReservation, Traveller

DRAFT = "DRAFT"
CONFIRMED = "CONFIRMED"
ACTIVE_LINE_STATUSES = (DRAFT, CONFIRMED)

CONTENT_FIELDS = ("lines", "travellers", "fees", "payment_refs", "reservations")
VERSION_FIELDS = ("order_version", "status", "failed", "last_confirmed_at", "expire_at",
                  "expire_at_set_by_client")
REPLACED = "REPLACED"
CANCELLED = "CANCELLED"
PENDING = "PENDING"  # a line's external confirmation, awaited from a third party
SCRAPPED, FAILED = "SCRAPPED", "FAILED"  # what a reset or an expiry did


class OrderState:
    """The order's attributes (set by ``Order``'s events) and what follows from them."""

    code: str
    order_version: int
    status: str
    failed: bool
    expire_at: datetime
    expire_at_set_by_client: bool
    has_unconfirmed_changes: bool
    lock: Lock | None
    lines: list[OrderLine]
    travellers: list[Traveller]
    fees: list[Fee]
    payment_refs: list[PaymentRef]
    reservations: list[SeatReservation]
    confirmed_versions: dict[str, int]
    last_confirmed_state: dict[str, Any]

    @property
    def locked(self) -> bool:
        return self.lock is not None

    @property
    def active_lines(self) -> list[OrderLine]:
        return [line for line in self.lines if line.status in ACTIVE_LINE_STATUSES]

    @property
    def pending_lines(self) -> list[OrderLine]:
        """Active draft lines still waiting for a third party's confirmation."""
        return [line for line in self.active_lines
                if line.status == DRAFT and line.external_confirmation == PENDING]

    @property
    def awaiting_external_confirmation(self) -> bool:
        """A draft paid in this version whose pending lines a third party has yet to confirm:
        its content may not change, and it fails rather than being scrapped."""
        kept = set(self.last_confirmed_state["payment_refs"])
        money_now = any(ref not in kept for ref in self.payment_refs)  # captured or credited
        return self.status == DRAFT and bool(self.pending_lines) and money_now

    @property
    def total_amount(self) -> Decimal:
        lines = total(line.price.amount for line in self.active_lines)
        return lines + total(fee.signed_price.amount for fee in self.fees)

    @property
    def total_tax_amount(self) -> Decimal:
        lines = total(line.price.tax_amount for line in self.active_lines)
        return lines + total(fee.signed_price.tax_amount for fee in self.fees)

    @property
    def captured_amount(self) -> Decimal:
        return total(ref.captured for ref in self.payment_refs)

    @property
    def credited_amount(self) -> Decimal:
        return total(ref.credited for ref in self.payment_refs)

    @property
    def creditable(self) -> Decimal:
        """What was captured and not yet credited: no credit may exceed it."""
        return self.captured_amount - self.credited_amount

    @property
    def confirms_now(self) -> bool:
        """A draft that money just balanced confirms in the same step (contract section 2)."""
        return (self.status == DRAFT and self.balance == 0 and not self.pending_lines
                and bool(self.active_lines or self.confirmed_versions))

    def reservations_of_inactive_lines(self) -> list[SeatReservation]:
        """Seats still held for replaced or cancelled lines: released at the next confirmation."""
        active = {line.id for line in self.active_lines}
        return [r for r in self.reservations if r.order_line_id not in active]

    @property
    def balance(self) -> Decimal:
        return self.total_amount - self.captured_amount + self.credited_amount

    def is_due_to_expire(self, now: datetime, lock_timeout_at: datetime | None = None) -> bool:
        """Unconfirmed changes past ``expireAt``; a locked order only once its lock timed out."""
        if not self.has_unconfirmed_changes or now < self.expire_at:
            return False
        return not self.locked or self.lock_timed_out(lock_timeout_at or now)

    def lock_timed_out(self, lock_deadline: datetime) -> bool:
        """True when the lock was taken at or before ``lock_deadline`` (now - lock timeout)."""
        return self.lock is not None and self.lock.locked_at <= lock_deadline

    def event_version_of_confirmed(self, order_version: int) -> int | None:
        return self.confirmed_versions.get(str(order_version))

    def unconfirmed_reservations(self) -> list[SeatReservation]:
        """Seat reservations made since the last confirmation: what a revert gives back."""
        kept = {r.id for r in self.last_confirmed_state["reservations"]}
        return [r for r in self.reservations if r.id not in kept]

    def _what_a_revert_scraps(self) -> dict[str, Any]:
        kept = self.last_confirmed_state
        kept_lines = {line.id for line in kept["lines"]}
        return {
            "fromVersion": self.order_version,
            "toVersion": kept["order_version"],
            "scrappedOrderLineIds": [line.id for line in self.lines if line.id not in kept_lines],
            "releasedReservationIds": [r.id for r in self.unconfirmed_reservations()],
            "scrappedFeeIds": [fee.id for fee in self.fees if fee not in kept["fees"]],
        }

    def content_change_expiry(self, now: datetime, default_expire_at: datetime) -> datetime:
        """``expireAt`` after a content change: the client's choice for this version, else default."""
        if self.status == DRAFT and self.expire_at_set_by_client:
            return self.expire_at
        return default_expire_at

    def _version_state(self) -> dict[str, Any]:
        """What a revert restores. The parts are immutable: copying the lists is enough."""
        state: dict[str, Any] = {name: list(getattr(self, name)) for name in CONTENT_FIELDS}
        return state | {name: getattr(self, name) for name in VERSION_FIELDS}

    def begin_content_change(self, expire_at: datetime) -> None:
        """Called from content-changing mutators: a CONFIRMED order reopens as version N+1."""
        if self.status == CONFIRMED:
            self.order_version += 1
            self.status = DRAFT
            self.failed = False
            self.expire_at_set_by_client = False
        self.expire_at = expire_at
        self.has_unconfirmed_changes = True

    def _restore_last_confirmed(self) -> None:
        for name, value in self.last_confirmed_state.items():
            setattr(self, name, list(value) if name in CONTENT_FIELDS else value)
        self.has_unconfirmed_changes = False

    def refuse_if_locked(self) -> None:
        if self.locked:
            raise OrderLocked(self.code)

    def _lines_to_fail(self, order_line_ids: list[str] | None) -> list[str]:
        pending = [line.id for line in self.pending_lines]
        if order_line_ids is None:
            return pending
        not_pending = [line_id for line_id in order_line_ids if line_id not in pending]
        if not_pending:
            raise InvalidRequest(f"Not order lines waiting for external confirmation: "
                                 f"{', '.join(not_pending)}", "orderLineIds")
        return list(order_line_ids)

    def refuse_content_change(self) -> None:
        self.refuse_if_locked()
        if self.awaiting_external_confirmation:
            raise ExternalConfirmationPending(f"Order {self.code} is paid and waits for external "
                                              "confirmation: only confirm, fail, reset or expiry apply")

    def check_version(self, order_version: int | None) -> None:
        """A request naming a version acts only on the current one (None: not named)."""
        if order_version is not None and order_version != self.order_version:
            raise VersionMismatch(f"Order {self.code} is at version {self.order_version}, "
                                  f"not {order_version}")

    def check_active_lines(self, order_line_ids: Iterable[str], where: str) -> list[OrderLine]:
        """The named lines (each once, in order), every one an active line of the order."""
        active = {line.id: line for line in self.active_lines}
        named = list(dict.fromkeys(order_line_ids))
        unknown = [line_id for line_id in named if line_id not in active]
        if unknown:
            raise InvalidRequest(f"not active order lines of {self.code}: {', '.join(unknown)}", where)
        return [active[line_id] for line_id in named]

    def confirmed_line(self, line_id: str) -> OrderLine | None:
        """The line as the last confirmed version holds it, if it was confirmed then."""
        return next((line for line in self.last_confirmed_state["lines"]
                     if line.id == line_id and line.status == CONFIRMED), None)

    def refuse_negative_total(self, total_after: Decimal, where: str) -> None:
        """``totalAmount`` never goes below 0.00: such a change is refused (contract section 2)."""
        if total_after < ZERO:
            raise InvalidRequest(f"the change would bring totalAmount to {total_after}, below 0.00", where)
