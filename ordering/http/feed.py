"""The change feed: ``GET /v1/order-events``, every event of the caller's organisation's orders."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ordering.application.feed import MAX_LIMIT, MAX_WAIT_SECONDS
from ordering.http.order_schemas import TrailEvent
from ordering.http.requests import caller, service
from ordering.representation.feed import feed_page_json

blp = Blueprint("order-events", __name__, url_prefix="/v1/order-events", description="Change feed")


class FeedQuery(Schema):
    after = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "a cursor (an item's `cursor` or a page's `next`) of the caller's "
                       "organisation; `end`: start after the newest event; omitted: from the "
                       "beginning. Malformed, unknown or another organisation's: 400"})
    limit = fields.Integer(load_default=MAX_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT))
    wait = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_WAIT_SECONDS),
                          metadata={"description": "seconds to hold the request until an event "
                                                   "arrives (long poll)"})


class FeedItem(TrailEvent):
    """An audit-trail event (as in GET /v1/orders/{id}/events) with its order and cursor."""

    orderId = fields.String()
    ticketDistributionGroupId = fields.String(metadata={
        "description": "present on the events of the order's ticket distribution groups"})
    cursor = fields.String(metadata={"description": "continue after this event with after=cursor"})


class FeedPageOut(Schema):
    items = fields.List(fields.Nested(FeedItem), metadata={"description": "in store order"})
    next = fields.String(metadata={"description": "always present: the cursor to ask with next; "
                                   "on an empty page the after sent (or the current end)"})


@blp.route("")
class OrderEventFeed(MethodView):
    @blp.arguments(FeedQuery(), location="query", unknown="raise")
    @blp.response(200, FeedPageOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Every event of the caller's organisation's orders, in store order, by cursor"""
        page = service().order_events(caller().organisation_id, query.get("after"), query["limit"],
                                      query["wait"])
        return feed_page_json(page)
