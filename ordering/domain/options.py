"""Change options: what may be done to an active order line now, and what it would cost."""

from __future__ import annotations

from dataclasses import dataclass

from ordering.domain.order_state import CONFIRMED, DRAFT, OrderState
from ordering.domain.values import Conditions, OrderLine, Price

REPLACE, ADD_SUPPLEMENT, REFUND, CANCEL = "REPLACE", "ADD_SUPPLEMENT", "REFUND", "CANCEL"


@dataclass(frozen=True)
class Option:
    type: str
    allowed: bool
    reason: str | None = None
    fee: Price | None = None
    selectable_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LineOptions:
    line: OrderLine
    options: tuple[Option, ...]


def line_options(order: OrderState, line: OrderLine, conditions: Conditions,
                 supplements: list[str]) -> LineOptions:
    confirmed = {kept.id: kept for kept in order.last_confirmed_state["lines"]}.get(line.id)
    # A paid version waiting for external confirmation takes no content change until confirmed.
    locked = "LOCKED" if order.locked else ("NOT_CONFIRMED" if order.awaiting_external_confirmation else None)
    return LineOptions(line, (
        _replace(line, conditions, confirmed, locked),
        _add_supplement(supplements, locked),
        _refund(order, line, conditions, locked),
        Option(CANCEL, locked is None, locked, fee=confirmed.price if confirmed else None),
    ))


def _replace(line: OrderLine, conditions: Conditions, confirmed: OrderLine | None,
             locked: str | None) -> Option:
    unconfirmed_replacement = line.status == DRAFT and bool(line.replaces_order_line_ids)
    reason = locked or ("NOT_CHANGEABLE" if not conditions.changeable or unconfirmed_replacement else None)
    return Option(REPLACE, reason is None, reason, fee=conditions.change_fee if confirmed else None)


def _add_supplement(supplements: list[str], locked: str | None) -> Option:
    reason = locked or (None if supplements else "NO_SUPPLEMENTS")
    return Option(ADD_SUPPLEMENT, reason is None, reason, selectable_ids=tuple(supplements))


def _refund(order: OrderState, line: OrderLine, conditions: Conditions, locked: str | None) -> Option:
    """Refunds are quoted only for a confirmed line of a confirmed order (refund options)."""
    failed = line.external_confirmation == "FAILED"
    confirmed = line.status == CONFIRMED and order.status == CONFIRMED
    reason = locked or (None if confirmed else "NOT_CONFIRMED") or (
        None if conditions.refundable or failed else "NOT_REFUNDABLE")
    return Option(REFUND, reason is None, reason, fee=None if failed else conditions.refund_fee)
