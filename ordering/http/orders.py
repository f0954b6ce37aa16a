"""Orders: thin views that parse, call one command or query, and answer."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ordering.domain.order import Order
from ordering.http.order_schemas import (
    CreateOrderIn,
    FailOrderIn,
    OrderPage,
    OrderTrail,
    OrderVersionQuery,
    UpdateOrderIn,
)
from ordering.http.requests import (
    caller,
    command_context,
    organisation_for_new_order,
    read_model,
    service,
)
from ordering.representation.audit import trail_json
from ordering.representation.order import OrderOut
from projections.search import FIELDS, PAGING, parse_query

blp = Blueprint("orders", __name__, url_prefix="/v1/orders", description="Orders")
AUDIT_ALL = "audit:read-all"


SEARCH_PARAMETERS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"},
     "description": f"operator:value, operators {' '.join(field.operators)}; may repeat"}
    for name, field in FIELDS.items()
] + [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
     for name in PAGING]


@blp.route("")
class Orders(MethodView):
    @blp.doc(parameters=SEARCH_PARAMETERS)
    @blp.response(200, OrderPage)
    def get(self) -> Response:
        """Search the caller's orders (field=operator:value, orderBy, sortBy, page, perPage)"""
        query = parse_query(request.args.to_dict(flat=False))
        page = read_model().search_page(caller().organisation_id, query)
        return Response(page.to_json(), mimetype="application/json")

    @blp.arguments(CreateOrderIn(), unknown="raise")
    @blp.response(201, OrderOut)
    def post(self, body: dict[str, Any]) -> tuple[Order, int, dict[str, str]]:
        """Create an empty order"""
        organisation = organisation_for_new_order(body.pop("organisation_override", None))
        order = service().create_order(command_context(organisation_id=organisation), **body)
        return order, 201, {"Location": url_for("orders.OrderById", order_id=order.code)}


@blp.route("/<order_id>")
class OrderById(MethodView):
    @blp.arguments(OrderVersionQuery(), location="query", unknown="raise")
    @blp.response(200, OrderOut)
    def get(self, query: dict[str, Any], order_id: str) -> Order:
        """The order, a confirmed earlier version of it (?version=N), or the order at an instant (?at=)"""
        if "at" in query:
            return service().order_at(order_id, caller().organisation_id, query["at"])
        return service().get_order(order_id, caller().organisation_id, query.get("version"))

    @blp.arguments(UpdateOrderIn(), unknown="raise")
    @blp.response(200, OrderOut)
    def put(self, body: dict[str, Any], order_id: str) -> Order:
        """Update expireAt, contactInfo, externalReference or specialOrderCause"""
        return service().update_order(order_id, command_context(), body)


@blp.route("/<order_id>/confirm")
class ConfirmOrder(MethodView):
    @blp.response(200, OrderOut)
    def post(self, order_id: str) -> Order:
        """Confirm a balanced order"""
        return service().confirm_order(order_id, command_context())


@blp.route("/<order_id>/reset")
class ResetOrder(MethodView):
    @blp.response(200, OrderOut)
    def post(self, order_id: str) -> Order:
        """Scrap unconfirmed changes now, as expiry does"""
        return service().reset_order(order_id, command_context())


@blp.route("/<order_id>/unlock")
class UnlockOrder(MethodView):
    @blp.response(200, OrderOut)
    def post(self, order_id: str) -> Order:
        """Lift the lock; the payment in progress is cancelled"""
        return service().unlock_order(order_id, command_context())


@blp.route("/<order_id>/fail")
class FailOrder(MethodView):
    @blp.arguments(FailOrderIn(), unknown="raise")
    @blp.response(200, OrderOut)
    def post(self, body: dict[str, Any], order_id: str) -> Order:
        """Fail order lines; the order becomes CONFIRMED and failed"""
        return service().fail_order(order_id, command_context(), body.get("order_line_ids"))


@blp.route("/<order_id>/orderlines/confirm")
class ConfirmOrderLines(MethodView):
    @blp.arguments(FailOrderIn(), unknown="raise")
    @blp.response(200, OrderOut)
    def post(self, body: dict[str, Any], order_id: str) -> Order:
        """A third party confirmed order lines (default: every PENDING one): SUCCESS"""
        return service().confirm_order_lines(order_id, command_context(), body.get("order_line_ids"))


@blp.route("/<order_id>/events")
class OrderEvents(MethodView):
    @blp.response(200, OrderTrail)
    def get(self, order_id: str) -> dict[str, Any]:
        """The audit trail: every event of the order, oldest first"""
        who = caller()
        organisation = None if who.may(AUDIT_ALL) else who.organisation_id
        return trail_json(order_id, service().order_trail(order_id, organisation))
