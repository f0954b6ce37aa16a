"""Wire shapes of refund options and refunds (contract section 6, Refunds)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from ordering.http.sales_schemas import SHORT_TEXT
from ordering.representation.fields import Money, UtcDateTime, strict_boolean
from ordering.representation.order import Fee

MAX_LINES = 50


class LineIdList(fields.Field[list[str]]):
    """``a,b,c`` in a query string: a list of order line ids."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, str):
            raise ValidationError("must be order line ids separated by commas")
        ids = [part.strip() for part in value.split(",")]
        if not all(ids) or len(ids) > MAX_LINES or any(len(i) > 200 for i in ids):
            raise ValidationError(f"must be 1 to {MAX_LINES} order line ids separated by commas")
        return ids


class RefundOptionsQuery(Schema):
    order_line_ids = LineIdList(data_key="orderLineIds", load_default=None,
                                metadata={"description": "order line ids separated by commas "
                                                         "(default: every active line)"})


class OrderRefOut(Schema):
    id = fields.String(attribute="code")
    version = fields.Integer(attribute="order_version")


class RefundOptionOut(Schema):
    id = fields.String(attribute="option_id")
    orderLineIds = fields.List(fields.String(), attribute="order_line_ids")
    refundAmount = Money(attribute="refund_amount")
    fee = Money(attribute="fee_amount")
    currency = fields.String()
    expiresAt = UtcDateTime(attribute="expires_at")


class RefundOptionsOut(Schema):
    orderRef = fields.Nested(OrderRefOut)
    options = fields.List(fields.Nested(RefundOptionOut))
    optionIdsThatCanBePerformedTogether = fields.List(fields.List(fields.String()))


class RefundIn(Schema):
    order_version = fields.Integer(data_key="orderVersion", required=True, strict=True,
                                   validate=validate.Range(min=1, max=2**31 - 1))
    refund_option_ids = fields.List(fields.String(validate=SHORT_TEXT), data_key="refundOptionIds",
                                    required=True, validate=validate.Length(min=1, max=MAX_LINES))
    dry_run = strict_boolean(data_key="dryRun", load_default=False)


class RefundOut(Schema):
    orderId = fields.String(attribute="order.code")
    orderVersion = fields.Integer(attribute="order.order_version")
    creditId = fields.String(attribute="credit_id", allow_none=True)
    totalRefundAmount = Money(attribute="plan.total_refund_amount")
    currency = fields.String(attribute="order.currency")
    affectedOrderLineIds = fields.List(fields.String(), attribute="plan.order_line_ids")
    fees = fields.List(fields.Nested(Fee))
