"""Wire shapes of orders: what requests may send and how an order is answered."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ordering.http.fields import Money, StringMap, UtcDateTime

CURRENCY = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="must be an ISO 4217 code"))


class Reference(Schema):
    id = fields.String()
    version = fields.String()


class FareProductRef(Reference):
    selectable_id = fields.String(data_key="selectableId")


class Price(Schema):
    amount = Money()
    currency = fields.String()
    tax_amount = Money(data_key="taxAmount")


class Leg(Schema):
    service_journey_id = fields.String(data_key="serviceJourneyId")
    dated_service_journey_id = fields.String(data_key="datedServiceJourneyId")
    original_dated_service_journey_id = fields.String(data_key="originalDatedServiceJourneyId")
    from_stop_place_id = fields.String(data_key="fromStopPlaceId")
    to_stop_place_id = fields.String(data_key="toStopPlaceId")
    start_time = UtcDateTime(data_key="startTime")
    end_time = UtcDateTime(data_key="endTime")


class OrderLine(Schema):
    id = fields.String()
    version = fields.Integer()
    status = fields.String()
    external_confirmation = fields.String(data_key="externalConfirmation", allow_none=True)
    offer_id = fields.String(data_key="offerId")
    sales_package_ref = fields.Nested(Reference, data_key="salesPackageRef")
    fare_products = fields.List(fields.Nested(FareProductRef), data_key="fareProducts")
    supplement_products = fields.List(fields.Dict(), data_key="supplementProducts")
    traveller_ids = fields.List(fields.String(), data_key="travellerIds")
    price = fields.Nested(Price)
    legs = fields.List(fields.Nested(Leg))
    reservation_ids = fields.List(fields.String(), data_key="reservationIds")
    external_reference = fields.String(data_key="externalReference", allow_none=True)
    replaces_order_line_ids = fields.List(fields.String(), data_key="replacesOrderLineIds")
    replaced_by_order_line_ids = fields.List(fields.String(), data_key="replacedByOrderLineIds")


class Fee(Schema):
    id = fields.String()
    type = fields.String()
    amount = Money()
    tax_amount = Money(data_key="taxAmount")
    currency = fields.String()


class PaymentRef(Schema):
    payment_id = fields.String(data_key="paymentId")
    status = fields.String()
    amount = Money()
    currency = fields.String()
    payment_type = fields.String(data_key="paymentType")
    captured_at = UtcDateTime(data_key="capturedAt", allow_none=True)


class Traveller(Schema):
    id = fields.String()
    user_profile_id = fields.String(data_key="userProfileId", allow_none=True)


class Reservation(Schema):
    id = fields.String()
    order_line_id = fields.String(data_key="orderLineId")
    dated_service_journey_id = fields.String(data_key="datedServiceJourneyId")
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
    order_line_ids = fields.List(
        fields.String(validate=validate.Length(max=64)),
        data_key="orderLineIds",
        validate=validate.Length(max=500),
    )


class OrderVersionQuery(Schema):
    version = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class TrailEvent(Schema):
    """Already plain JSON (see ordering.audit); the schema documents it."""

    sequence = fields.Integer()
    type = fields.String()
    occurredAt = fields.String()
    orderVersion = fields.Integer()
    data = fields.Dict()
    context = fields.Dict()


class OrderTrail(Schema):
    orderId = fields.String()
    events = fields.List(fields.Nested(TrailEvent))
