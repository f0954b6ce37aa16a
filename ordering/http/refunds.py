"""Refunds: options per refundable line, and performing them. Thin views."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from ordering.application import RefundOutcome
from ordering.http.refund_schemas import RefundIn, RefundOptionsOut, RefundOptionsQuery, RefundOut
from ordering.http.requests import command_context, service

blp = Blueprint("refunds", __name__, url_prefix="/v1/refunds", description="Refunds")


@blp.route("/options/<order_id>")
class RefundOptions(MethodView):
    @blp.arguments(RefundOptionsQuery(), location="query", unknown="raise")
    @blp.response(200, RefundOptionsOut)
    def get(self, query: dict[str, Any], order_id: str) -> dict[str, Any]:
        """Refund options for the order's refundable confirmed lines, valid for this version"""
        order, options = service().refund_options(command_context(), order_id, query["order_line_ids"])
        together = [[option.option_id for option in options]] if options else []
        return {"orderRef": order, "options": options, "optionIdsThatCanBePerformedTogether": together}


@blp.route("/<order_id>")
class Refund(MethodView):
    @blp.arguments(RefundIn(), unknown="raise")
    @blp.response(200, RefundOut)
    def post(self, body: dict[str, Any], order_id: str) -> RefundOutcome:
        """Perform refund options: lines cancelled, refund fees added, the rest credited, version N+1
        confirmed; dryRun answers the same figures and changes nothing"""
        return service().refund(command_context(), order_id, body["order_version"],
                                body["refund_option_ids"], body["dry_run"])
