"""After-sales: replacing order lines, supplements, change options, fees, cancelled lines and
credits. Thin views."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from ordering.domain.changes import ReplaceConfiguration, SupplementRequest
from ordering.domain.credit import Credit
from ordering.domain.order import Order
from ordering.domain.values import Fee, Price
from ordering.http.after_sales_schemas import (
    CancelOrderLinesIn,
    ChangeOptionsOut,
    ChangeOptionsQuery,
    CreditIn,
    CreditOut,
    FeeIn,
    ReplaceOrderLinesIn,
    ReplaceOrderLinesOut,
    SupplementProductsIn,
    SupplementProductsOut,
)
from ordering.http.requests import caller, command_context, service
from ordering.representation.order import Fee as FeeOut
from ordering.representation.order import OrderOut

blp = Blueprint("after_sales", __name__, url_prefix="/v1", description="Changing orders and credits")


@blp.route("/update-order")
class UpdateOrder(MethodView):
    @blp.arguments(ReplaceOrderLinesIn(), unknown="raise")
    @blp.response(200, ReplaceOrderLinesOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Replace order lines with lines of other offers (one to one, one to many, many to one)"""
        configurations = [ReplaceConfiguration(**c) for c in body["offer_configurations"]]
        change = service().update_order_lines(command_context(require_sales_headers=True),
                                              body["order_id"], configurations,
                                              body["refund_price_difference"])
        return {
            "orderId": change.order.code,
            "orderLineIds": [a.line.id for a in change.additions],
            "reservationIds": [r.id for a in change.additions for r in a.reservations],
            "replacedByOrderLineIds": [{"originalOrderLineIds": list(r.original_ids),
                                        "replacedByOrderLineIds": list(r.new_ids)}
                                       for r in change.replacements],
        }


@blp.route("/credits")
class Credits(MethodView):
    @blp.arguments(CreditIn(), unknown="raise")
    @blp.response(201, CreditOut)
    def post(self, body: dict[str, Any]) -> tuple[Credit, int, dict[str, str]]:
        """Pay back a negative balance; at 0.00 the order is confirmed"""
        credit = service().credit_order(command_context(), body["order_id"], body["order_version"],
                                        body["amount"], body.get("currency"), body["reason"])
        return credit, 201, {"Location": url_for("after_sales.CreditById", credit_id=credit.credit_id)}


@blp.route("/credits/<credit_id>")
class CreditById(MethodView):
    @blp.response(200, CreditOut)
    def get(self, credit_id: str) -> Credit:
        """One credit"""
        return service().get_credit(credit_id, caller().organisation_id)


@blp.route("/update-order/supplement-products")
class SupplementProducts(MethodView):
    @blp.arguments(SupplementProductsIn(), unknown="raise")
    @blp.response(200, SupplementProductsOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add supplement products (a bicycle, luggage) to existing lines"""
        requests = [SupplementRequest(c["order_line_id"], c["offer_id"],
                                      [(p["selectable_id"], p["count"]) for p in c["products"]])
                    for c in body["offer_configurations"]]
        order = service().add_supplement_products(command_context(require_sales_headers=True),
                                                  body["order_id"], requests)
        return {"orderId": order.code, "orderLineIds": list(dict.fromkeys(r.order_line_id for r in requests))}


@blp.route("/change-options")
class ChangeOptions(MethodView):
    @blp.arguments(ChangeOptionsQuery(), location="query", unknown="raise")
    @blp.response(200, ChangeOptionsOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """What may be done to each active line of an order now, and at what cost"""
        order, options = service().change_options(query["order_id"], caller().organisation_id)
        return {"orderId": order.code, "orderVersion": order.order_version, "orderLineOptions": options}


@blp.route("/orders/<order_id>/fees")
class Fees(MethodView):
    @blp.arguments(FeeIn(), unknown="raise")
    @blp.response(201, FeeOut)
    def post(self, body: dict[str, Any], order_id: str) -> tuple[Fee, int, dict[str, str]]:
        """Add a fee (MANUAL, ONBOARD, INVOICE, PENALTY, BOOKING or REDUCTION) to the order"""
        fee = Fee(str(uuid4()), body["type"], Price.from_wire(body["price"]), body["reason"],
                  tuple(body["order_line_ids"]), body["external_reference"])
        added = service().add_fee(command_context(), order_id, fee, body["order_version"])
        return added, 201, {"Location": url_for("after_sales.FeeById", order_id=order_id, fee_id=added.id)}


@blp.route("/orders/<order_id>/fees/<fee_id>")
class FeeById(MethodView):
    @blp.response(200, OrderOut)
    def delete(self, order_id: str, fee_id: str) -> Order:
        """Remove a fee the client added since the last confirmation"""
        return service().remove_fee(command_context(), order_id, fee_id)


@blp.route("/orders/<order_id>/orderlines/cancel")
class CancelOrderLines(MethodView):
    @blp.arguments(CancelOrderLinesIn(), unknown="raise")
    @blp.response(200, OrderOut)
    def post(self, body: dict[str, Any], order_id: str) -> Order:
        """Cancel order lines (remove travellers) without a refund: a confirmed line leaves a MANUAL fee"""
        return service().cancel_order_lines(command_context(), order_id, body["order_line_ids"],
                                            body["reason"])

