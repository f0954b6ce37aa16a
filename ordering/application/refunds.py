"""Refunds: quote options for refundable confirmed lines, perform chosen ones (contract section 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import uuid4

from eventsourcing.domain import Aggregate

from ordering.application.after_sales import AfterSalesCommands
from ordering.application.base import Saved
from ordering.application.context import CommandContext
from ordering.domain.credit import Credit
from ordering.domain.errors import RefundOptionNotFound
from ordering.domain.inventory import SeatChanges
from ordering.domain.order import Order
from ordering.domain.refunds import RefundOption, RefundPlan, check_refundable, plan_refund, quote
from ordering.domain.values import Fee

REFUND_REASON = "refund of order lines"


@dataclass(frozen=True)
class RefundOutcome:
    """The order after the refund, the credit registered (None: nothing to credit, or a dry
    run) and what was refunded."""

    order: Order
    credit: Credit | None
    plan: RefundPlan

    @property
    def credit_id(self) -> str | None:
        return self.credit.credit_id if self.credit else None

    @property
    def fees(self) -> list[Fee]:
        added = {fee.id for fee in self.plan.fees}
        return [fee for fee in self.order.fees if fee.id in added]


class RefundCommands(AfterSalesCommands):
    """Money back for lines that may be refunded; everything in one save, or nothing."""

    def refund_options(self, ctx: CommandContext, order_id: str,
                       order_line_ids: list[str] | None) -> tuple[Order, list[RefundOption]]:
        """One option per refundable confirmed line (default: every active line), quoted for
        the current version and recorded so that performing it can be checked."""
        def unit() -> tuple[tuple[Order, list[RefundOption]], Sequence[Aggregate]]:
            order = self._load(order_id, ctx.organisation_id)
            check_refundable(order)
            lines = (order.active_lines if order_line_ids is None
                     else order.check_active_lines(order_line_ids, "orderLineIds"))
            expires_at = self.clock() + self.policy.refund_option_ttl
            options = [RefundOption(order.code, order.organisation_id, order.order_version, [line.id],
                                    found.refund_amount, found.fee, order.currency, expires_at,
                                    ctx.as_event_data())
                       for line in lines if (found := quote(line, self.conditions_of(line))) is not None]
            return (order, options), options

        return self._retrying(unit, order_id)

    def refund(self, ctx: CommandContext, order_id: str, order_version: int, option_ids: list[str],
               dry_run: bool = False) -> RefundOutcome:
        """Cancel the options' lines with their refund fees, open version N+1, credit the total
        and confirm N+1 at 0.00, releasing the seats: one save. A dry run saves nothing."""
        def unit() -> tuple[RefundOutcome, Sequence[Saved]]:
            order = self._load(order_id, ctx.organisation_id)
            chosen = {option_id: self._refund_option(option_id, ctx.organisation_id)
                      for option_id in dict.fromkeys(option_ids)}
            now = self.clock()
            plan = plan_refund(order, order_version, chosen, now, [str(uuid4()) for _ in chosen])
            order.refund_lines(plan.order_line_ids, list(plan.fees), plan.option_ids, now,
                               now + self.policy.draft_ttl, ctx.as_event_data())
            credit, released = self._pay_back(order, plan, ctx)
            outcome = RefundOutcome(order, None if dry_run else credit, plan)
            return outcome, [] if dry_run else [order, *([credit] if credit else []), *released]

        return self._retrying(unit, order_id)

    def _pay_back(self, order: Order, plan: RefundPlan,
                  ctx: CommandContext) -> tuple[Credit | None, list[SeatChanges]]:
        """Credit the refund (which confirms N+1); with nothing to credit, confirm N+1 as it is."""
        if plan.total_refund_amount > 0:
            return self._credit(order, plan.total_refund_amount, REFUND_REASON, ctx)
        return None, self._confirming(order, lambda: order.confirm(self.clock(), ctx.as_event_data()))

    def _refund_option(self, option_id: str, organisation_id: int) -> RefundOption | None:
        try:
            return self._get_owned(RefundOption, option_id, RefundOptionNotFound, organisation_id)
        except RefundOptionNotFound:
            return None
