"""Ticket distribution groups and their trail as the API answers them (contract section 7)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ordering.domain.ticketing import TicketDistributionGroup
from ordering.representation.audit import ENVELOPE_FIELDS, plain, utc_text


def group_json(group: TicketDistributionGroup) -> dict[str, Any]:
    return {
        "id": str(group.id), "orderId": group.order_code, "orderVersion": group.order_version,
        "orderLineId": group.order_line_id, "status": group.status,
        "createdAt": utc_text(group.created_at),
        "cancelledAt": utc_text(group.cancelled_at) if group.cancelled_at else None,
        "replacesGroupIds": list(group.replaces_group_ids),
        "ticketDistributions": [plain(d.to_wire()) for d in group.distributions],
    }


def group_trail_json(group_id: str, events: Sequence[Any]) -> dict[str, Any]:
    """``events``: (sequence, event) entries, oldest first."""
    return {"ticketDistributionGroupId": group_id, "events": [
        {"sequence": entry.sequence, "type": type(entry.event).__name__,
         "occurredAt": utc_text(vars(entry.event)["timestamp"]),
         "data": plain({k: v for k, v in vars(entry.event).items() if k not in ENVELOPE_FIELDS}),
         "context": plain(vars(entry.event).get("context") or {})}
        for entry in events]}
