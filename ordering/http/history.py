"""An order's history: what changed between two versions (time travel is ``GET /v1/orders/{id}?at=``)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from ordering.http.history_schemas import ChangesQuery
from ordering.http.requests import caller, service
from ordering.representation.changes import OrderChangesOut, changes_subject

blp = Blueprint("order-history", __name__, url_prefix="/v1/orders", description="Order history")


@blp.route("/<order_id>/changes")
class OrderChanges(MethodView):
    @blp.arguments(ChangesQuery(), location="query", unknown="raise")
    @blp.response(200, OrderChangesOut)
    @blp.alt_response(404, description="ORDER_NOT_FOUND, or VERSION_NOT_FOUND for a version that "
                      "was never confirmed (other than the current one) or does not exist")
    def get(self, query: dict[str, Any], order_id: str) -> dict[str, Any]:
        """What changed between two versions: lines, supplements, fees, payments, seats, totals"""
        changes = service().order_changes(order_id, caller().organisation_id, query["from_version"],
                                          query["to_version"])
        return changes_subject(order_id, changes)
