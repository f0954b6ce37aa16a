"""Refunds: an option per refundable confirmed line, and the plan that performs chosen options.

An option is quoted for one order version and expires; performing options cancels their lines,
adds their refund fees as ``REFUNDING`` fees and credits the rest (contract section 6).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import (
    InvalidRequest,
    OrderNotConfirmed,
    RefundExceedsPaid,
    RefundOptionExpired,
    RefundOptionNotFound,
)
from ordering.domain.money import ZERO, total
from ordering.domain.order_state import CONFIRMED, FAILED, OrderState
from ordering.domain.values import REFUNDING, Conditions, Fee, OrderLine, Price

REFUND_FEE_REASON = "refund fee"


@dataclass(frozen=True)
class Quote:
    """What refunding one line returns (``refund_amount``) and keeps (``fee``, None: nothing)."""

    refund_amount: Decimal
    fee: Price | None


def quote(line: OrderLine, conditions: Conditions) -> Quote | None:
    """A confirmed line that is refundable, or whose external confirmation failed (then in
    full), has a quote; any other line has none. A fee is never more than the line's price."""
    failed = line.external_confirmation == FAILED
    if line.status != CONFIRMED or not (conditions.refundable or failed):
        return None
    fee = None if failed else conditions.refund_fee
    if fee is None or fee.amount <= ZERO:
        return Quote(line.price.amount, None)
    if fee.amount > line.price.amount:
        fee = Price(line.price.amount, fee.currency, min(fee.tax_amount, line.price.tax_amount))
    return Quote(line.price.amount - fee.amount, fee)


def check_refundable(order: OrderState) -> None:
    """Only a confirmed, unlocked order has refund options."""
    order.refuse_if_locked()
    if order.status != CONFIRMED:
        raise OrderNotConfirmed(f"Order {order.code} is {order.status}: only a confirmed order is refunded")


class RefundOption(Aggregate):
    """One quoted refund of an order line, valid for one order version until it expires."""

    @event("RefundOptionIssued")
    def __init__(self, order_id: str, organisation_id: int, order_version: int,
                 order_line_ids: list[str], refund_amount: Decimal, fee: Price | None, currency: str,
                 expires_at: datetime, context: dict[str, Any]) -> None:
        self.order_id = order_id
        self.organisation_id = organisation_id
        self.order_version = order_version
        self.order_line_ids = order_line_ids
        self.refund_amount = refund_amount
        self.fee = fee
        self.currency = currency
        self.expires_at = expires_at

    @property
    def option_id(self) -> str:
        return str(self.id)

    @property
    def fee_amount(self) -> Decimal:
        return self.fee.amount if self.fee else ZERO


@dataclass(frozen=True)
class RefundPlan:
    """What performing the chosen options does: the lines, their fees, the total credited."""

    options: tuple[RefundOption, ...]
    fees: tuple[Fee, ...]

    @property
    def order_line_ids(self) -> list[str]:
        return [line_id for option in self.options for line_id in option.order_line_ids]

    @property
    def option_ids(self) -> list[str]:
        return [option.option_id for option in self.options]

    @property
    def total_refund_amount(self) -> Decimal:
        return total(option.refund_amount for option in self.options)


def plan_refund(order: OrderState, order_version: int, chosen: Mapping[str, RefundOption | None],
                now: datetime, fee_ids: Sequence[str]) -> RefundPlan:
    """Check the chosen options in the contract's order (version, unknown, expired, together,
    paid) and plan them. ``fee_ids`` holds a fresh id per option."""
    order.refuse_if_locked()
    order.check_version(order_version)
    options = [_option_of(order, order_version, option_id, option) for option_id, option in chosen.items()]
    expired = [option.option_id for option in options if option.expires_at <= now]
    if expired:
        raise RefundOptionExpired(f"Refund options expired: {', '.join(expired)}")
    _check_together(options)
    check_refundable(order)
    plan = RefundPlan(tuple(options), tuple(
        Fee(fee_id, REFUNDING, option.fee, REFUND_FEE_REASON, tuple(option.order_line_ids))
        for option, fee_id in zip(options, fee_ids, strict=False) if option.fee is not None))
    if plan.total_refund_amount > order.creditable:
        raise RefundExceedsPaid(f"Order {order.code} has {order.creditable} captured and not yet "
                                f"credited, not {plan.total_refund_amount}")
    return plan


def _option_of(order: OrderState, order_version: int, option_id: str,
               option: RefundOption | None) -> RefundOption:
    if option is None or option.order_id != order.code or option.order_version != order_version:
        raise RefundOptionNotFound(option_id)
    return option


def _check_together(options: Sequence[RefundOption]) -> None:
    seen: set[str] = set()
    for option in options:
        if seen & set(option.order_line_ids):
            raise InvalidRequest(f"refund option {option.option_id} refunds a line another chosen "
                                 "option refunds: they cannot be performed together", "refundOptionIds")
        seen.update(option.order_line_ids)
