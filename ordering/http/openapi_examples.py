"""Examples for the OpenAPI document: the README's sale on the demo catalogue, so "Try it out"
on ``/docs`` works as written; everything else is built from the schemas and these values."""

from __future__ import annotations

from typing import Any

from ordering.demo_catalogue import ADULT, BERGEN_DEPARTURE, BERGEN_OFFER, TRAVELLERS

ORDER_ID = "K7QF3M2X"
LINE_ID = "4f0c8d1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f"
RESERVATION_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
PAYMENT_ID = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98"
CREDIT_ID = "6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d"
FEE_ID = "1e2d3c4b-5a69-4788-a9b0-c1d2e3f4a5b6"
TRAVELLER = TRAVELLERS[0]

FORMATS = {"date-time": "2026-11-22T10:00:00Z", "uuid": LINE_ID, "date": "2026-11-22"}
PRICE = {"amount": "899.00", "currency": "NOK", "taxAmount": "96.32"}
LEG = {"serviceJourneyId": "NSB:ServiceJourney:601-bergen", "datedServiceJourneyId": BERGEN_DEPARTURE,
       "originalDatedServiceJourneyId": BERGEN_DEPARTURE, "fromStopPlaceId": "NSR:StopPlace:337",
       "toStopPlaceId": "NSR:StopPlace:548", "startTime": "2026-12-01T07:25:00Z",
       "endTime": "2026-12-01T14:10:00Z"}
LINE = {"id": LINE_ID, "version": 1, "status": "CONFIRMED", "externalConfirmation": None,
        "offerId": BERGEN_OFFER,
        "salesPackageRef": {"id": "NSB:SalesPackage:Ordinary", "version": "NSB:Version:V1"},
        "fareProducts": [{"id": "NSB:PreassignedFareProduct:Ordinary", "version": "NSB:Version:V1",
                          "selectableId": "nhC7Jr"}],
        "supplementProducts": [], "travellerIds": [TRAVELLER], "price": PRICE, "legs": [LEG],
        "reservationIds": [RESERVATION_ID], "externalReference": None, "replacesOrderLineIds": [],
        "replacedByOrderLineIds": [],
        "conditions": {"refundable": True, "changeable": True,
                       "changeFee": {"amount": "50.00", "currency": "NOK", "taxAmount": "5.36"},
                       "refundFee": {"amount": "100.00", "currency": "NOK", "taxAmount": "10.71"}}}
PAYMENT_REF = {"paymentId": PAYMENT_ID, "creditId": None, "status": "CAPTURED", "amount": "899.00",
               "currency": "NOK", "paymentType": "VISA", "capturedAt": "2026-11-22T10:03:00Z"}
ORDER = {
    "id": ORDER_ID, "version": 1, "status": "CONFIRMED", "failed": False, "locked": False,
    "currency": "NOK", "totalAmount": "899.00", "totalTaxAmount": "96.32", "balance": "0.00",
    "createdAt": "2026-11-22T10:00:00Z", "lastConfirmedAt": "2026-11-22T10:03:00Z",
    "expireAt": "2026-11-22T10:20:00Z", "organisationId": 1, "createdBy": "dev-user", "pos": "Entur-APP",
    "distributionChannelId": "ENT:DistributionChannel:Web", "externalReference": "my-first-order",
    "contactInfo": None, "specialOrderCause": None, "orderLines": [LINE],
    "travellers": [{"id": TRAVELLER, "userProfileId": ADULT}], "fees": [], "paymentRefs": [PAYMENT_REF],
    "reservations": [{"id": RESERVATION_ID, "orderLineId": LINE_ID, "datedServiceJourneyId": BERGEN_DEPARTURE,
                      "seats": 1}],
}
DRAFT_ORDER = {**ORDER, "status": "DRAFT", "totalAmount": "0.00", "totalTaxAmount": "0.00", "balance": "0.00",
               "lastConfirmedAt": None, "orderLines": [], "travellers": [], "paymentRefs": [],
               "reservations": []}
OFFER = {"id": BERGEN_OFFER, "name": "Oslo S - Bergen, Ordinary", "validUntil": "2026-12-01T07:00:00Z",
         "salesPackageRef": {"id": "NSB:SalesPackage:Ordinary", "version": "NSB:Version:V1"},
         "fareProducts": [{"id": "NSB:PreassignedFareProduct:Ordinary", "version": "NSB:Version:V1",
                           "selectableId": "nhC7Jr"}],
         "groupProduct": False, "pricingBasis": "PER_PERSON", "price": PRICE,
         "travellerMapping": [{"travellerIds": TRAVELLERS[:2], "minNumberOfTravellers": 1,
                               "maxNumberOfTravellers": 2, "userProfileId": ADULT}],
         "legs": [{**LEG, "reservingRequirement": "RESERVATIONS_COMPULSORY"}], "refundable": True,
         "changeable": True, "changeFee": None, "refundFee": None, "externalConfirmationRequired": False,
         "supplementProducts": []}
PAYMENT = {"id": PAYMENT_ID, "status": "CREATED", "orderId": ORDER_ID, "orderVersion": 1, "organisationId": 1,
           "amount": "899.00", "currency": "NOK", "paymentType": "VISA", "createdAt": "2026-11-22T10:02:00Z",
           "capturedAt": None, "cancelledAt": None}
CAPTURED = {**PAYMENT, "status": "CAPTURED", "capturedAt": "2026-11-22T10:03:00Z"}
CONTEXT = {"correlationId": "7c97e9a0-6f1e-4d55-9a51-2b1f0c3d4e5f", "clientName": "acme-app",
           "organisationId": 1, "subject": "dev-user", "pos": "Entur-APP",
           "distributionChannelId": "ENT:DistributionChannel:Web",
           "commandId": "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"}
TRAIL = {"orderId": ORDER_ID, "events": [
    {"sequence": 1, "type": "OrderCreated", "occurredAt": "2026-11-22T10:00:00Z", "orderVersion": 1,
     "data": {"code": ORDER_ID, "organisationId": 1, "currency": "NOK"}, "context": CONTEXT},
    {"sequence": 2, "type": "OrderLineAdded", "occurredAt": "2026-11-22T10:00:00Z", "orderVersion": 1,
     "data": {"line": {"id": LINE_ID, "offerId": BERGEN_OFFER}}, "context": CONTEXT},
    {"sequence": 3, "type": "PaymentCaptured", "occurredAt": "2026-11-22T10:03:00Z", "orderVersion": 1,
     "data": {"paymentRef": PAYMENT_REF}, "context": CONTEXT},
    {"sequence": 4, "type": "OrderConfirmed", "occurredAt": "2026-11-22T10:03:00Z", "orderVersion": 1,
     "data": {}, "context": CONTEXT}]}

# Whole objects by component name, used wherever a schema refers to them.
SCHEMAS: dict[str, Any] = {"OrderOut": ORDER, "OrderLine": LINE, "Price": PRICE, "Leg": LEG,
                           "Offer": OFFER, "PaymentOut": PAYMENT, "PaymentRef": PAYMENT_REF,
                           "OrderTrail": TRAIL}

# Property values by ``Schema.property`` or by property name.
PROPERTY_EXAMPLES: dict[str, Any] = {
    "orderId": ORDER_ID, "offerId": BERGEN_OFFER, "orderLineId": LINE_ID, "paymentId": PAYMENT_ID,
    "creditId": CREDIT_ID, "currency": "NOK", "orderVersion": 1, "version": 1, "pos": "Entur-APP",
    "distributionChannelId": "ENT:DistributionChannel:Web", "datedServiceJourneyId": BERGEN_DEPARTURE,
    "externalReference": "my-first-order", "selectedTravellerIds": [TRAVELLER],
    "orderLineIds": [LINE_ID], "reservationIds": [RESERVATION_ID], "travellerIds": [TRAVELLER],
    "selectedOrderLineIds": [LINE_ID], "selectableProductIds": [], "paymentType": "VISA",
    "reason": "Seat upgrade on board", "seats": 300, "capacity": 10, "reserved": 1, "available": 9,
    "organisationId": 1, "page": 1, "perPage": 20, "totalItems": 1, "totalPages": 1,
    "selectableId": "bike1", "userProfileId": ADULT, "supplementProductType": "BICYCLE",
    "OrderOut.id": ORDER_ID, "CreditOut.id": CREDIT_ID, "PaymentOut.id": PAYMENT_ID, "Fee.id": FEE_ID,
}

REQUESTS: dict[str, Any] = {
    "createOrder": {"externalReference": "my-first-order", "currency": "NOK"},
    "updateOrder": {"externalReference": "booking 4711", "contactInfo": {"email": "kari@example.com"}},
    "failOrder": {"orderLineIds": [LINE_ID]},
    "confirmOrderLines": {"orderLineIds": [LINE_ID]},
    "addOffers": OFFER,
    "setCapacity": {"seats": 300},
    "reserveOffers": {"offerConfigurations": [{"offerId": BERGEN_OFFER,
                                               "selectedTravellerIds": [TRAVELLER]}]},
    "createPayment": {"orderId": ORDER_ID, "orderVersion": 1, "amount": "899.00", "currency": "NOK",
                      "paymentType": "VISA"},
    "createCredit": {"orderId": ORDER_ID, "orderVersion": 2, "amount": "350.00", "currency": "NOK",
                     "reason": "Cheaper departure chosen"},
}
RESPONSES: dict[str, Any] = {
    "searchOrders": {"items": [ORDER], "page": 1, "perPage": 20, "totalItems": 1, "totalPages": 1},
    "createOrder": DRAFT_ORDER, "getOrder": ORDER, "updateOrder": ORDER, "confirmOrder": ORDER,
    "resetOrder": ORDER, "unlockOrder": ORDER, "failOrder": {**ORDER, "failed": True},
    "confirmOrderLines": ORDER, "getOrderTrail": TRAIL, "listOffers": [OFFER], "addOffers": [OFFER],
    "getOffer": OFFER, "setCapacity": {"capacity": 300, "reserved": 1, "available": 299},
    "getAvailability": {"capacity": 10, "reserved": 1, "available": 9},
    "reserveOffers": {"orderId": ORDER_ID, "orderLineIds": [LINE_ID], "reservationIds": [RESERVATION_ID]},
    "createPayment": PAYMENT, "getPayment": CAPTURED, "capturePayment": CAPTURED,
    "cancelPayment": {**PAYMENT, "status": "CANCELLED", "cancelledAt": "2026-11-22T10:04:00Z"},
}
PROBLEM_DETAILS = {
    400: "Request is not valid", 401: "A bearer token is required (Authorization: Bearer <JWT>)",
    403: "This needs the permission offers:write", 404: f"Order {ORDER_ID} was not found",
    409: f"Order {ORDER_ID} has a payment in progress", 412: "The order's ETag does not match If-Match",
    413: "The body is larger than 1 MB", 415: "Request bodies must be application/json",
    422: "Idempotency-Key was used for another request", 429: "Rate limit exceeded: 20 per 1 second",
    503: "The database cannot be reached; try again shortly",
}
