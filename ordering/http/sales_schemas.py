"""Wire shapes of offers, seats, reservations and payments."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ordering.domain.offer import RESERVING_REQUIREMENTS
from ordering.representation.fields import Money, UtcDateTime, strict_boolean
from ordering.representation.order import CURRENCY, FareProductRef, Leg, Price, Reference, Supplement

SHORT_TEXT = validate.Length(min=1, max=200)
UUID_TEXT = fields.UUID  # parsed to check the shape, answered as a string


class TravellerMapping(Schema):
    travellerIds = fields.List(fields.String(validate=SHORT_TEXT), required=True,
                               validate=validate.Length(min=1, max=50))
    minNumberOfTravellers = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 50))
    maxNumberOfTravellers = fields.Integer(strict=True, load_default=50, validate=validate.Range(0, 50))
    userProfileId = fields.String(validate=SHORT_TEXT)

    @validates_schema
    def _min_not_above_max(self, data: dict[str, Any], **_: Any) -> None:
        if data["minNumberOfTravellers"] > data["maxNumberOfTravellers"]:
            raise ValidationError("may not exceed maxNumberOfTravellers", "minNumberOfTravellers")


class OfferLeg(Leg):
    reservingRequirement = fields.String(validate=validate.OneOf(RESERVING_REQUIREMENTS))


class OfferSchema(Schema):
    """An offer; field names are the wire's, so loaded data is stored as it is."""

    id = fields.String(validate=validate.Regexp(
        r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", error="must be a UUID"))
    name = fields.String(required=True, validate=SHORT_TEXT)
    validUntil = UtcDateTime(required=True)
    salesPackageRef = fields.Nested(Reference, required=True)
    fareProducts = fields.List(fields.Nested(FareProductRef), load_default=list,
                               validate=validate.Length(max=20))
    groupProduct = strict_boolean(load_default=False)
    pricingBasis = fields.String(load_default="PER_PERSON",
                                 validate=validate.OneOf(["PER_PERSON", "PER_GROUP", "PER_OFFER"]))
    price = fields.Nested(Price, required=True)
    travellerMapping = fields.List(fields.Nested(TravellerMapping), required=True,
                                   validate=validate.Length(min=1, max=10))
    legs = fields.List(fields.Nested(OfferLeg), load_default=list, validate=validate.Length(max=10))
    refundable = strict_boolean(load_default=True)
    changeable = strict_boolean(load_default=True)
    changeFee = fields.Nested(Price, load_default=None, allow_none=True)
    refundFee = fields.Nested(Price, load_default=None, allow_none=True)
    externalConfirmationRequired = strict_boolean(load_default=False)
    supplementProducts = fields.List(fields.Nested(Supplement), load_default=list,
                                     validate=validate.Length(max=20))


class CapacityIn(Schema):
    seats = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))


class Availability(Schema):
    capacity = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class OfferConfigurationIn(Schema):
    offer_id = fields.String(data_key="offerId", required=True, validate=SHORT_TEXT)
    selected_traveller_ids = fields.List(fields.String(validate=SHORT_TEXT),
                                         data_key="selectedTravellerIds",
                                         validate=validate.Length(max=50))
    selectable_product_ids = fields.List(fields.String(validate=SHORT_TEXT),
                                         data_key="selectableProductIds", load_default=list,
                                         validate=validate.Length(max=20))
    external_reference = fields.String(data_key="externalReference", allow_none=True,
                                       validate=validate.Length(max=200))
    count = fields.Integer(strict=True, validate=validate.Range(min=1, max=20))


class ReserveOffersIn(Schema):
    order_id = fields.String(data_key="orderId", validate=validate.Length(max=20))
    offer_configurations = fields.List(fields.Nested(OfferConfigurationIn),
                                       data_key="offerConfigurations", required=True,
                                       validate=validate.Length(min=1, max=20))


class ReserveOffersOut(Schema):
    orderId = fields.String()
    orderLineIds = fields.List(fields.String())
    reservationIds = fields.List(fields.String())


class PaymentIn(Schema):
    order_id = fields.String(data_key="orderId", required=True, validate=validate.Length(max=20))
    order_version = fields.Integer(data_key="orderVersion", required=True, strict=True,
                                   validate=validate.Range(min=1, max=2**31 - 1))
    amount = Money(required=True)
    currency = CURRENCY
    payment_type = fields.String(data_key="paymentType", load_default="CARD", validate=SHORT_TEXT)


class PaymentOut(Schema):
    id = fields.String(attribute="payment_id")
    status = fields.String()
    order_id = fields.String(data_key="orderId")
    order_version = fields.Integer(data_key="orderVersion")
    organisation_id = fields.Integer(data_key="organisationId")
    amount = Money()
    currency = fields.String()
    payment_type = fields.String(data_key="paymentType")
    created_at = UtcDateTime(data_key="createdAt")
    captured_at = UtcDateTime(data_key="capturedAt", allow_none=True)
    cancelled_at = UtcDateTime(data_key="cancelledAt", allow_none=True)
