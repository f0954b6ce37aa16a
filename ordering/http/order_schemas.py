"""Wire shapes of order requests (the order's answer is ``ordering.representation.order``)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate, validates_schema

from ordering.http.history_schemas import AT_DESCRIPTION, AtTime, refuse_at_with_version
from ordering.representation.fields import StringMap, UtcDateTime
from ordering.representation.order import CURRENCY


class CreateOrderIn(Schema):
    currency = CURRENCY
    expire_at = UtcDateTime(data_key="expireAt")
    contact_info = StringMap(data_key="contactInfo", allow_none=True)
    external_reference = fields.String(
        data_key="externalReference", allow_none=True, validate=validate.Length(max=200)
    )
    organisation_override = fields.Integer(
        data_key="organisationOverride", strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )


class UpdateOrderIn(Schema):
    expire_at = UtcDateTime(data_key="expireAt")
    contact_info = StringMap(data_key="contactInfo", allow_none=True)
    external_reference = fields.String(
        data_key="externalReference", allow_none=True, validate=validate.Length(max=200)
    )
    special_order_cause = StringMap(data_key="specialOrderCause", allow_none=True)


class FailOrderIn(Schema):
    """The lines to fail (``fail``) or to mark confirmed (``orderlines/confirm``)."""

    order_line_ids = fields.List(
        fields.String(validate=validate.Length(max=64)),
        data_key="orderLineIds",
        validate=validate.Length(max=500),
    )


class OrderVersionQuery(Schema):
    version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    at = AtTime(metadata={"description": AT_DESCRIPTION})

    @validates_schema
    def _at_or_version(self, data: dict[str, Any], **_: Any) -> None:
        refuse_at_with_version(data)


class TrailEvent(Schema):
    """Already plain JSON (see ordering.representation.audit); the schema documents it."""

    sequence = fields.Integer()
    type = fields.String()
    occurredAt = fields.String()
    orderVersion = fields.Integer()
    data = fields.Dict()
    context = fields.Dict()


class OrderTrail(Schema):
    orderId = fields.String()
    events = fields.List(fields.Nested(TrailEvent))


class OrderPage(Schema):
    """A page of search results; items are stored order documents, already in wire form."""

    items = fields.List(fields.Dict())
    page = fields.Integer()
    perPage = fields.Integer()
    totalItems = fields.Integer()
    totalPages = fields.Integer()
