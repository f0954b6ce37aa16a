"""After the sale: replacing order lines (update-order), supplements, fees, cancelled lines and
credits (contract section 6)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from uuid import uuid4

from ordering.application.base import CommandRunner, Saved
from ordering.application.context import CommandContext
from ordering.domain.changes import (
    ReplaceConfiguration,
    Replacement,
    SupplementRequest,
    change_fees,
    check_replaceable,
    group_configurations,
    lines_with_supplements,
)
from ordering.domain.credit import Credit, CreditNotFound
from ordering.domain.inventory import SeatChanges
from ordering.domain.offer import Offer
from ordering.domain.options import LineOptions, line_options
from ordering.domain.order import LineAddition, Order
from ordering.domain.payment import check_credit_fits
from ordering.domain.reserving import OfferNotFound, check_currency, plan_lines
from ordering.domain.values import Conditions, Fee, OrderLine

PRICE_DIFFERENCE = "price difference of a change refunded"


@dataclass(frozen=True)
class LineReplacement:
    order: Order
    replacements: list[Replacement]

    @property
    def additions(self) -> list[LineAddition]:
        return [a for r in self.replacements for a in r.additions]


class AfterSalesCommands(CommandRunner):
    """Changing what was sold, and paying money back."""

    def update_order_lines(self, ctx: CommandContext, order_id: str,
                           configurations: list[ReplaceConfiguration],
                           refund_price_difference: bool = False) -> LineReplacement:
        """Replace lines with lines of other offers, holding the new seats at once; fees by the
        replaced lines' conditions; a negative balance credited at once when asked."""
        self._load(order_id, ctx.organisation_id).refuse_content_change()  # before any offer lookup
        offers = {c.offer_id: self.get_offer(c.offer_id) for c in configurations}

        def unit() -> tuple[LineReplacement, Sequence[Saved]]:
            order = self._load(order_id, ctx.organisation_id)
            order.refuse_content_change()
            now = self.clock()
            replacements = self._plan(configurations, offers, now)
            conditions = {line.id: self.conditions_of(line) for line in order.active_lines}
            check_replaceable(order, replacements, conditions)
            check_currency(order.currency, offers.values())
            fees = [fee for r in replacements for fee in change_fees(
                order, r, conditions, [str(uuid4()) for _ in range(len(r.original_ids) + 1)])]
            change = LineReplacement(order, replacements)
            seats = self._hold_seats(order.code, change.additions)
            order.replace_lines([{"originalOrderLineIds": list(r.original_ids),
                                  "replacedByOrderLineIds": list(r.new_ids)} for r in replacements],
                                change.additions, fees, now, now + self.policy.draft_ttl,
                                ctx.as_event_data())
            credited: list[Saved] = []
            if refund_price_difference and order.balance < 0:
                credit, released = self._credit(order, -order.balance, PRICE_DIFFERENCE, ctx)
                credited = [credit, *released]
            return change, [order, *seats, *credited]

        return self._retrying(unit, order_id)

    def _plan(self, configurations: list[ReplaceConfiguration], offers: dict[str, Offer],
              now: datetime) -> list[Replacement]:
        replacements = []
        for originals, positions in group_configurations(configurations):
            additions = tuple(
                replace(addition, line=replace(addition.line, replaces_order_line_ids=originals))
                for position in positions
                for addition in plan_lines(offers[configurations[position].offer_id],
                                           configurations[position].as_offer_configuration(),
                                           now, position))
            replacements.append(Replacement(originals, additions, f"offerConfigurations.{positions[0]}"))
        return replacements

    def add_supplement_products(self, ctx: CommandContext, order_id: str,
                                requests: list[SupplementRequest]) -> Order:
        """Supplements (a bicycle, luggage) on existing lines: same line ids and seats, higher price."""
        self._load(order_id, ctx.organisation_id).refuse_content_change()  # before any offer lookup
        offers = {r.offer_id: self.get_offer(r.offer_id) for r in requests}

        def add(order: Order) -> None:
            order.refuse_content_change()
            now = self.clock()
            order.add_supplements(lines_with_supplements(order, requests, offers), now,
                                  now + self.policy.draft_ttl, ctx.as_event_data())

        return self._change(order_id, ctx, add)

    def change_options(self, order_id: str, organisation_id: int) -> tuple[Order, list[LineOptions]]:
        """What may be done to each active line now, and at what cost."""
        order = self._load(order_id, organisation_id)
        return order, [line_options(order, line, self.conditions_of(line), self._supplements_of(line))
                       for line in order.active_lines]

    def _supplements_of(self, line: OrderLine) -> list[str]:
        try:
            offer = self.get_offer(line.offer_id)
        except OfferNotFound:
            return []
        return [s["selectableId"] for s in offer.data.get("supplementProducts", [])]

    def conditions_of(self, line: OrderLine) -> Conditions:
        """A line's own conditions; a line sold before they were recorded follows its offer's."""
        if line.conditions is not None:
            return line.conditions
        try:
            return self.get_offer(line.offer_id).conditions
        except OfferNotFound:
            return Conditions()

    def credit_order(self, ctx: CommandContext, order_id: str, order_version: int, amount: Decimal,
                     currency: str | None, reason: str) -> Credit:
        """Pay back a negative balance; at 0.00 the order is confirmed in the same step."""
        def unit() -> tuple[Credit, Sequence[Saved]]:
            order = self._load(order_id, ctx.organisation_id)
            check_credit_fits(order, order_version, amount, currency or order.currency)
            credit, released = self._credit(order, amount, reason, ctx)
            return credit, [order, credit, *released]

        return self._retrying(unit, order_id)

    def _credit(self, order: Order, amount: Decimal, reason: str,
                ctx: CommandContext) -> tuple[Credit, list[SeatChanges]]:
        """A credit and the order's record of it; and the seats the confirmation it brings
        releases."""
        now = self.clock()
        credit = Credit(order.code, order.order_version, order.organisation_id, amount, order.currency,
                        reason, now, ctx.as_event_data())
        released = self._confirming(order, lambda: order.register_credit(
            credit.as_order_ref(), reason, now, ctx.as_event_data()))
        return credit, released

    def add_fee(self, ctx: CommandContext, order_id: str, fee: Fee, order_version: int | None) -> Fee:
        """A fee the client adds; on a confirmed order it opens version N+1."""
        def add(order: Order) -> None:
            now = self.clock()
            order.add_fee(fee, order_version, now, now + self.policy.draft_ttl, ctx.as_event_data())

        order = self._change(order_id, ctx, add)
        return next(added for added in order.fees if added.id == fee.id)

    def remove_fee(self, ctx: CommandContext, order_id: str, fee_id: str) -> Order:
        """Remove an unconfirmed fee the client added."""
        def remove(order: Order) -> None:
            now = self.clock()
            order.remove_fee(fee_id, now, now + self.policy.draft_ttl, ctx.as_event_data())

        return self._change(order_id, ctx, remove)

    def cancel_order_lines(self, ctx: CommandContext, order_id: str, order_line_ids: list[str],
                           reason: str) -> Order:
        """Remove travellers without a refund; the seats are released at the next confirmation."""
        def cancel(order: Order) -> None:
            now = self.clock()
            order.cancel_lines(order_line_ids, reason, [str(uuid4()) for _ in order_line_ids], now,
                               now + self.policy.draft_ttl, ctx.as_event_data())

        return self._change(order_id, ctx, cancel)

    def get_credit(self, credit_id: str, organisation_id: int | None) -> Credit:
        return self._get_owned(Credit, credit_id, CreditNotFound, organisation_id)

