"""A credit: money paid back to the customer on an order (a cheaper change, say).

Registered at once, as captures are (a payment provider's asynchronous credit is out of scope);
the order records it as a ``CREDITED`` payment reference in the same save.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import NotFound
from ordering.domain.values import PaymentRef

CREDITED = "CREDITED"


class CreditNotFound(NotFound):
    code = "CREDIT_NOT_FOUND"
    title = "Credit not found"

    def __init__(self, credit_id: str) -> None:
        super().__init__(f"Credit {credit_id} was not found")


class Credit(Aggregate):
    @event("CreditRegistered")
    def __init__(self, order_id: str, order_version: int, organisation_id: int, amount: Decimal,
                 currency: str, reason: str, created_at: datetime, context: dict[str, Any]) -> None:
        self.order_id = order_id
        self.order_version = order_version
        self.organisation_id = organisation_id
        self.amount = amount
        self.currency = currency
        self.reason = reason
        self.created_at = created_at
        self.status = CREDITED

    @property
    def credit_id(self) -> str:
        return str(self.id)

    def as_order_ref(self) -> PaymentRef:
        return PaymentRef(None, CREDITED, self.amount, self.currency, None, self.created_at, self.credit_id)
