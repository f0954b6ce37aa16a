"""The order as the API answers it and the read model stores it: its one public shape.

Also the wire shapes of prices, references, legs and supplements that requests share.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from ordering.representation.fields import Money, UtcDateTime


class WireSchema(Schema):
    """Dumps a domain value object through its one wire form (``to_wire``)."""

    @pre_dump
    def _wire(self, obj: Any, **_: Any) -> Any:
        return obj.to_wire() if hasattr(obj, "to_wire") else obj


CURRENCY = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code"))


class Reference(Schema):
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.String(required=True, validate=validate.Length(min=1, max=200))


class FareProductRef(Reference):
    selectableId = fields.String(validate=validate.Length(max=200))


class Price(WireSchema):
    amount = Money(required=True)
    currency = fields.String(load_default="NOK", validate=validate.Regexp(
        r"^[A-Z]{3}$", error="must be an ISO 4217 code"))
    taxAmount = Money(required=True)


class Leg(Schema):
    serviceJourneyId = fields.String(validate=validate.Length(max=200))
    datedServiceJourneyId = fields.String(required=True, validate=validate.Length(min=1, max=200))
    originalDatedServiceJourneyId = fields.String(allow_none=True, validate=validate.Length(max=200))
    fromStopPlaceId = fields.String(validate=validate.Length(max=200))
    toStopPlaceId = fields.String(validate=validate.Length(max=200))
    startTime = UtcDateTime()
    endTime = UtcDateTime()


class Supplement(Schema):
    selectableId = fields.String(required=True, validate=validate.Length(min=1, max=200))
    name = fields.String(validate=validate.Length(max=200))
    supplementProductType = fields.String(validate=validate.Length(max=100))
    count = fields.Integer(dump_only=True)
    price = fields.Nested(Price, required=True)


class Conditions(Schema):
    refundable = fields.Boolean()
    changeable = fields.Boolean()
    changeFee = fields.Nested(Price, allow_none=True)
    refundFee = fields.Nested(Price, allow_none=True)


class OrderLine(WireSchema):
    """An order line as the contract shows it (dumped from ``values.OrderLine.to_wire``)."""

    id = fields.String()
    version = fields.Integer()
    status = fields.String()
    externalConfirmation = fields.String(allow_none=True)
    offerId = fields.String()
    salesPackageRef = fields.Nested(Reference)
    fareProducts = fields.List(fields.Nested(FareProductRef))
    supplementProducts = fields.List(fields.Nested(Supplement))
    travellerIds = fields.List(fields.String())
    price = fields.Nested(Price)
    legs = fields.List(fields.Nested(Leg))
    reservationIds = fields.List(fields.String())
    externalReference = fields.String(allow_none=True)
    replacesOrderLineIds = fields.List(fields.String())
    replacedByOrderLineIds = fields.List(fields.String())
    conditions = fields.Nested(Conditions, allow_none=True)


class Fee(WireSchema):
    id = fields.String()
    type = fields.String()
    price = fields.Nested(Price)
    reason = fields.String()
    orderLineIds = fields.List(fields.String())
    externalReference = fields.String(allow_none=True)
    version = fields.Integer()


class PaymentRef(WireSchema):
    paymentId = fields.String(allow_none=True)
    creditId = fields.String(allow_none=True)
    status = fields.String()
    amount = Money()
    currency = fields.String()
    paymentType = fields.String(allow_none=True)
    capturedAt = UtcDateTime(allow_none=True)


class Traveller(WireSchema):
    id = fields.String()
    userProfileId = fields.String(allow_none=True)


class Reservation(WireSchema):
    id = fields.String()
    orderLineId = fields.String()
    datedServiceJourneyId = fields.String()
    seats = fields.Integer()


class OrderOut(Schema):
    id = fields.String(attribute="code")
    version = fields.Integer(attribute="order_version")
    status = fields.String()
    failed = fields.Boolean()
    locked = fields.Boolean()
    currency = fields.String()
    total_amount = Money(data_key="totalAmount")
    total_tax_amount = Money(data_key="totalTaxAmount")
    balance = Money()
    created_at = UtcDateTime(data_key="createdAt")
    last_confirmed_at = UtcDateTime(data_key="lastConfirmedAt", allow_none=True)
    expire_at = UtcDateTime(data_key="expireAt")
    organisation_id = fields.Integer(data_key="organisationId")
    created_by = fields.String(data_key="createdBy")
    pos = fields.String(allow_none=True)
    distribution_channel_id = fields.String(data_key="distributionChannelId", allow_none=True)
    external_reference = fields.String(data_key="externalReference", allow_none=True)
    contact_info = fields.Dict(data_key="contactInfo", allow_none=True)
    special_order_cause = fields.Dict(data_key="specialOrderCause", allow_none=True)
    order_lines = fields.List(fields.Nested(OrderLine), attribute="lines", data_key="orderLines")
    travellers = fields.List(fields.Nested(Traveller))
    fees = fields.List(fields.Nested(Fee))
    payment_refs = fields.List(fields.Nested(PaymentRef), data_key="paymentRefs")
    reservations = fields.List(fields.Nested(Reservation))


ORDER_DOCUMENT = OrderOut()


def order_document(order: object) -> dict[str, object]:
    """The order's public JSON, as every answer and every read-model row holds it."""
    document: dict[str, object] = ORDER_DOCUMENT.dump(order)
    return document
