"""Wire shapes of after-sales requests and answers: update-order, supplements, change options,
fees, cancelled lines and credits."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ordering.domain.values import CLIENT_FEE_TYPES
from ordering.http.sales_schemas import SHORT_TEXT
from ordering.representation.fields import Money, UtcDateTime, strict_boolean
from ordering.representation.order import CURRENCY, Price

CANCELLATION_REASON = "order line cancelled"
ORDER_ID = fields.String(data_key="orderId", required=True, validate=validate.Length(min=1, max=20))


class ReplaceConfigurationIn(Schema):
    order_line_id = fields.String(data_key="orderLineId", required=True, validate=SHORT_TEXT)
    offer_id = fields.String(data_key="offerId", required=True, validate=SHORT_TEXT)
    selected_traveller_ids = fields.List(fields.String(validate=SHORT_TEXT), data_key="selectedTravellerIds",
                                         validate=validate.Length(max=50))
    selected_order_line_ids = fields.List(fields.String(validate=SHORT_TEXT),
                                          data_key="selectedOrderLineIds",
                                          validate=validate.Length(min=1, max=50))
    selectable_product_ids = fields.List(fields.String(validate=SHORT_TEXT), data_key="selectableProductIds",
                                         load_default=list, validate=validate.Length(max=20))
    external_reference = fields.String(data_key="externalReference", allow_none=True,
                                       validate=validate.Length(max=200))


class ReplaceOrderLinesIn(Schema):
    order_id = ORDER_ID
    refund_price_difference = strict_boolean(data_key="refundPriceDifference", load_default=False)
    offer_configurations = fields.List(fields.Nested(ReplaceConfigurationIn), data_key="offerConfigurations",
                                       required=True, validate=validate.Length(min=1, max=20))


class ReplacedPair(Schema):
    originalOrderLineIds = fields.List(fields.String())
    replacedByOrderLineIds = fields.List(fields.String())


class ReplaceOrderLinesOut(Schema):
    orderId = fields.String()
    orderLineIds = fields.List(fields.String())
    reservationIds = fields.List(fields.String())
    replacedByOrderLineIds = fields.List(fields.Nested(ReplacedPair))


class CreditIn(Schema):
    order_id = ORDER_ID
    order_version = fields.Integer(data_key="orderVersion", required=True, strict=True,
                                   validate=validate.Range(min=1, max=2**31 - 1))
    amount = Money(required=True)
    currency = CURRENCY
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class CreditOut(Schema):
    id = fields.String(attribute="credit_id")
    order_id = fields.String(data_key="orderId")
    order_version = fields.Integer(data_key="orderVersion")
    amount = Money()
    currency = fields.String()
    status = fields.String()
    created_at = UtcDateTime(data_key="createdAt")
    reason = fields.String()


class ProductConfigurationIn(Schema):
    selectable_id = fields.String(data_key="selectableId", required=True, validate=SHORT_TEXT)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=9))


class SupplementConfigurationIn(Schema):
    order_line_id = fields.String(data_key="orderLineId", required=True, validate=SHORT_TEXT)
    offer_id = fields.String(data_key="offerId", required=True, validate=SHORT_TEXT)
    products = fields.List(fields.Nested(ProductConfigurationIn), data_key="selectedProductsConfiguration",
                           required=True, validate=validate.Length(min=1, max=20))


class SupplementProductsIn(Schema):
    order_id = ORDER_ID
    offer_configurations = fields.List(fields.Nested(SupplementConfigurationIn),
                                       data_key="offerConfigurations", required=True,
                                       validate=validate.Length(min=1, max=20))


class SupplementProductsOut(Schema):
    orderId = fields.String()
    orderLineIds = fields.List(fields.String())


class ChangeOptionsQuery(Schema):
    order_id = fields.String(data_key="orderId", required=True, validate=validate.Length(min=1, max=20))


class OptionOut(Schema):
    type = fields.String(validate=validate.OneOf(["REPLACE", "ADD_SUPPLEMENT", "REFUND", "CANCEL"]))
    allowed = fields.Boolean()
    reason = fields.String(allow_none=True)
    fee = fields.Nested(Price, allow_none=True)
    selectableIds = fields.List(fields.String(), attribute="selectable_ids", allow_none=True)


class LineOptionsOut(Schema):
    orderLineId = fields.String(attribute="line.id")
    status = fields.String(attribute="line.status")
    options = fields.List(fields.Nested(OptionOut))


class ChangeOptionsOut(Schema):
    orderId = fields.String()
    orderVersion = fields.Integer()
    orderLineOptions = fields.List(fields.Nested(LineOptionsOut))


class FeeIn(Schema):
    type = fields.String(required=True, validate=validate.OneOf(
        CLIENT_FEE_TYPES, error="must be one of {choices}: the service alone adds CHANGE, "
                                "CHANGE_NON_REFUNDABLE and REFUNDING fees"))
    price = fields.Nested(Price, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    order_line_ids = fields.List(fields.String(validate=SHORT_TEXT), data_key="orderLineIds",
                                 load_default=list, validate=validate.Length(max=50))
    order_version = fields.Integer(data_key="orderVersion", strict=True, load_default=None,
                                   validate=validate.Range(min=1, max=2**31 - 1))
    external_reference = fields.String(data_key="externalReference", load_default=None, allow_none=True,
                                       validate=validate.Length(max=200))


class CancelOrderLinesIn(Schema):
    order_line_ids = fields.List(fields.String(validate=SHORT_TEXT), data_key="orderLineIds", required=True,
                                 validate=validate.Length(min=1, max=50))
    reason = fields.String(load_default=CANCELLATION_REASON, validate=validate.Length(min=1, max=500))
