"""Ticket distribution groups (contract section 7): list, distribute, trail. Thin views.

Groups are made by the follower of the order log (``ordering.following``), never here; they
appear within a second or so of the confirmation, and clients poll.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ordering.application.ticketing import TicketGroups
from ordering.domain.ticketing import GROUP_STATUSES
from ordering.http.requests import caller, command_context, service
from ordering.representation.ticketing import group_json, group_trail_json

blp = Blueprint("ticketing", __name__, url_prefix="/v1/ticket-distribution-groups",
                description="Ticket distribution groups")
AUDIT_ALL = "audit:read-all"
GROUP_ID = fields.String(validate=validate.Length(min=1, max=64))


class GroupsQuery(Schema):
    orderId = fields.String(required=True, validate=validate.Length(min=1, max=64))
    orderVersion = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    status = fields.String(validate=validate.OneOf(GROUP_STATUSES))


class DistributeIn(Schema):
    ticketDistributionGroupIds = fields.List(GROUP_ID, required=True,
                                             validate=validate.Length(min=1, max=100))


class DistributionOut(Schema):
    id = fields.String()
    fareProductId = fields.String()
    travellerId = fields.String()
    reservationIds = fields.List(fields.String())
    status = fields.String()
    distributedAt = fields.String(allow_none=True)


class GroupOut(Schema):
    id = fields.String()
    orderId = fields.String()
    orderVersion = fields.Integer()
    orderLineId = fields.String()
    status = fields.String()
    createdAt = fields.String()
    cancelledAt = fields.String(allow_none=True)
    replacesGroupIds = fields.List(fields.String())
    ticketDistributions = fields.List(fields.Nested(DistributionOut))


class GroupsOut(Schema):
    items = fields.List(fields.Nested(GroupOut))


class GroupEvent(Schema):
    sequence = fields.Integer()
    type = fields.String()
    occurredAt = fields.String()
    data = fields.Dict()
    context = fields.Dict()


class GroupTrail(Schema):
    ticketDistributionGroupId = fields.String()
    events = fields.List(fields.Nested(GroupEvent))


def groups() -> TicketGroups:
    return TicketGroups(service())


@blp.route("")
class Groups(MethodView):
    @blp.arguments(GroupsQuery(), location="query", unknown="raise")
    @blp.response(200, GroupsOut)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """The ticket distribution groups of an order (filters orderVersion, status)"""
        found = groups().of_order(query["orderId"], caller().organisation_id, query.get("orderVersion"),
                                  query.get("status"))
        return {"items": [group_json(g) for g in found]}


@blp.route("/distribute")
class Distribute(MethodView):
    @blp.arguments(DistributeIn(), unknown="raise")
    @blp.response(200, GroupsOut)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Mark groups and their distributions DISTRIBUTED (idempotent)"""
        done = groups().distribute(body["ticketDistributionGroupIds"], command_context())
        return {"items": [group_json(g) for g in done]}


@blp.route("/<group_id>/events")
class GroupEvents(MethodView):
    @blp.response(200, GroupTrail)
    def get(self, group_id: str) -> dict[str, Any]:
        """Every event of the group, oldest first"""
        who = caller()
        organisation = None if who.may(AUDIT_ALL) else who.organisation_id
        return group_trail_json(group_id, groups().trail(group_id, organisation))
