"""Offers, seats, reserving offers into orders, and payments: thin views."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from ordering.domain.payment import Payment
from ordering.domain.reserving import OfferConfiguration
from ordering.http.problems import ApiProblem
from ordering.http.requests import caller, command_context, organisation_for_new_order, service
from ordering.http.sales_schemas import (
    Availability,
    CapacityIn,
    OfferSchema,
    PaymentIn,
    PaymentOut,
    ReserveOffersIn,
    ReserveOffersOut,
)

blp = Blueprint("sales", __name__, url_prefix="/v1", description="Offers, seats, reservations, payments")
OFFERS_WRITE = "offers:write"
OFFER_ID_NAMESPACE = uuid.UUID("0c4c2f0e-5b7a-4c57-9a3e-8f1b2d6e7a10")


def require(permission: str) -> None:
    if not caller().may(permission):
        raise ApiProblem(403, f"This needs the permission {permission}")


@blp.route("/offers")
class Offers(MethodView):
    @blp.response(200, OfferSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The offer catalogue"""
        return [offer.data for offer in service().list_offers()]

    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "oneOf": [{"$ref": "#/components/schemas/Offer"},
                  {"type": "array", "items": {"$ref": "#/components/schemas/Offer"}}]}}}})
    @blp.response(201, OfferSchema(many=True))
    def post(self) -> list[dict[str, Any]]:
        """Add offers (permission offers:write); the body is one offer or a list"""
        require(OFFERS_WRITE)
        offers = load_offers(request.get_json())
        return [offer.data for offer in service().publish_offers(offers)]


def load_offers(body: Any, ids_from_content: bool = False) -> list[dict[str, Any]]:
    """One offer or a list of them, validated; each without an id gets a new one (derived from
    its content with ``ids_from_content``, so loading the same file twice adds nothing twice)."""
    offers: list[dict[str, Any]] = OfferSchema(many=True).load(
        body if isinstance(body, list) else [body], unknown=RAISE)
    for offer in offers:
        offer.setdefault("id", str(_content_id(offer) if ids_from_content else uuid.uuid4()))
    if len({o["id"] for o in offers}) != len(offers):
        raise ApiProblem(400, "offer ids in one request must differ", "id")
    return offers


def _content_id(offer: dict[str, Any]) -> uuid.UUID:
    return uuid.uuid5(OFFER_ID_NAMESPACE, json.dumps(offer, sort_keys=True, default=str))


@blp.route("/offers/<offer_id>")
class OfferById(MethodView):
    @blp.response(200, OfferSchema)
    def get(self, offer_id: str) -> dict[str, Any]:
        """One offer"""
        return service().get_offer(offer_id).data


@blp.route("/journeys/<dated_service_journey_id>/capacity")
class JourneyCapacity(MethodView):
    @blp.arguments(CapacityIn(), unknown="raise")
    @blp.response(200, Availability)
    def put(self, body: dict[str, int], dated_service_journey_id: str) -> dict[str, int]:
        """Seats that can be reserved on a departure (permission offers:write)"""
        require(OFFERS_WRITE)
        return service().set_capacity(dated_service_journey_id, body["seats"]).to_wire()


@blp.route("/journeys/<dated_service_journey_id>/availability")
class JourneyAvailability(MethodView):
    @blp.response(200, Availability)
    def get(self, dated_service_journey_id: str) -> dict[str, int]:
        """Capacity, reserved and available seats of a departure"""
        return service().availability(dated_service_journey_id).to_wire()


@blp.route("/reserve-offers")
class ReserveOffers(MethodView):
    @blp.arguments(ReserveOffersIn(), unknown="raise")
    @blp.response(200, ReserveOffersOut)
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """Reserve offers into an order (a new one when orderId is absent), holding their seats"""
        order_id = body.get("order_id")
        organisation = None if order_id else organisation_for_new_order(None)
        ctx = command_context(require_sales_headers=True, organisation_id=organisation)
        configurations = [OfferConfiguration(**c) for c in body["offer_configurations"]]
        reservation = service().reserve_offers(ctx, order_id, configurations)
        created = {} if order_id else {"Location": url_for("orders.OrderById",
                                                           order_id=reservation.order.code)}
        return {
            "orderId": reservation.order.code,
            "orderLineIds": [a.line.id for a in reservation.additions],
            "reservationIds": [r.id for a in reservation.additions for r in a.reservations],
        }, 200, created


@blp.route("/payments")
class Payments(MethodView):
    @blp.arguments(PaymentIn(), unknown="raise")
    @blp.response(201, PaymentOut)
    def post(self, body: dict[str, Any]) -> tuple[Payment, int, dict[str, str]]:
        """Create a payment of the order's balance; the order locks until capture or cancel"""
        payment = service().create_payment(command_context(), **body)
        return payment, 201, {"Location": url_for("sales.PaymentById", payment_id=payment.payment_id)}


@blp.route("/payments/<payment_id>")
class PaymentById(MethodView):
    @blp.response(200, PaymentOut)
    def get(self, payment_id: str) -> Payment:
        """The payment"""
        return service().get_payment(payment_id, caller().organisation_id)


@blp.route("/payments/<payment_id>/capture")
class CapturePayment(MethodView):
    @blp.response(200, PaymentOut)
    def post(self, payment_id: str) -> Payment:
        """Capture: the amount counts on the order, which confirms at balance 0.00. Idempotent"""
        return service().capture_payment(payment_id, command_context())


@blp.route("/payments/<payment_id>/cancel")
class CancelPayment(MethodView):
    @blp.response(200, PaymentOut)
    def post(self, payment_id: str) -> Payment:
        """Cancel: the order's lock is lifted, the order unchanged. Idempotent"""
        return service().cancel_payment(payment_id, command_context())
