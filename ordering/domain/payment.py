"""A payment of an order's balance: created (the order locks), then captured or cancelled."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    OrderNotDraft,
    RefundExceedsPaid,
)
from ordering.domain.order import Order
from ordering.domain.order_state import DRAFT
from ordering.domain.values import PaymentRef

CREATED, CAPTURED, CANCELLED = "CREATED", "CAPTURED", "CANCELLED"


class PaymentNotFound(NotFound):
    code = "PAYMENT_NOT_FOUND"
    title = "Payment not found"

    def __init__(self, payment_id: str) -> None:
        super().__init__(f"Payment {payment_id} was not found")


class PaymentNotPending(Conflict):
    code = "PAYMENT_NOT_PENDING"
    title = "Payment is not pending"


class Payment(Aggregate):
    @event("PaymentCreated")
    def __init__(self, order_id: str, order_version: int, organisation_id: int, amount: Decimal,
                 currency: str, payment_type: str, created_at: datetime,
                 context: dict[str, Any]) -> None:
        self.order_id = order_id
        self.order_version = order_version
        self.organisation_id = organisation_id
        self.amount = amount
        self.currency = currency
        self.payment_type = payment_type
        self.created_at = created_at
        self.status = CREATED
        self.captured_at: datetime | None = None
        self.cancelled_at: datetime | None = None

    @property
    def payment_id(self) -> str:
        return str(self.id)

    def capture(self, now: datetime, context: dict[str, Any]) -> bool:
        """True when this call captured it; False when it already was (idempotent)."""
        if self.status == CAPTURED:
            return False
        if self.status == CANCELLED:
            raise PaymentNotPending(f"Payment {self.id} is cancelled and cannot be captured")
        self._captured(at=now, context=context)
        return True

    def cancel(self, now: datetime, reason: str, context: dict[str, Any]) -> bool:
        """True when this call cancelled it; False when it already was (idempotent)."""
        if self.status == CANCELLED:
            return False
        if self.status == CAPTURED:
            raise PaymentNotPending(f"Payment {self.id} is captured and cannot be cancelled")
        self._cancelled(at=now, reason=reason, context=context)
        return True

    def as_order_ref(self) -> PaymentRef:
        return PaymentRef(self.payment_id, self.status, self.amount, self.currency, self.payment_type,
                          self.captured_at)

    @event("PaymentCaptured")
    def _captured(self, at: datetime, context: dict[str, Any]) -> None:
        self.status = CAPTURED
        self.captured_at = at

    @event("PaymentCancelled")
    def _cancelled(self, at: datetime, reason: str, context: dict[str, Any]) -> None:
        self.status = CANCELLED
        self.cancelled_at = at


def check_payment_fits(order: Order, order_version: int, amount: Decimal, currency: str) -> None:
    """A payment must be for the order's current version and exactly its balance."""
    order.check_version(order_version)
    order.refuse_if_locked()
    _check_currency(order, currency)
    if order.balance <= 0:
        raise InvalidRequest(f"Order {order.code} has nothing to pay (balance {order.balance})", "amount")
    if amount != order.balance:
        raise InvalidRequest(f"amount must be the order's balance, {order.balance}", "amount")


def check_credit_fits(order: Order, order_version: int, amount: Decimal, currency: str) -> None:
    """A credit pays back exactly what a draft owes its customer, at the order's version."""
    if order.status != DRAFT:
        raise OrderNotDraft(f"Order {order.code} is {order.status}: only a draft is credited")
    order.check_version(order_version)
    order.refuse_content_change()
    _check_currency(order, currency)
    if amount <= 0:
        raise InvalidRequest("a credit must be more than 0.00", "amount")
    if order.balance != -amount:
        raise InvalidRequest(f"amount must be what the order owes, {-order.balance}", "amount")
    if amount > order.creditable:
        raise RefundExceedsPaid(f"Order {order.code} has {order.creditable} captured and not yet "
                                f"credited, not {amount}")


def _check_currency(order: Order, currency: str) -> None:
    if currency != order.currency:
        raise InvalidRequest(f"the order is in {order.currency}", "currency")
