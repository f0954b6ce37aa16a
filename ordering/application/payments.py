"""Paying: a payment locks the order; capturing registers it (and may confirm), cancelling lifts the lock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from ordering.application.base import CommandRunner, Saved
from ordering.application.context import CommandContext
from ordering.domain.payment import Payment, check_payment_fits


class PaymentCommands(CommandRunner):
    """Payment commands."""

    def create_payment(self, ctx: CommandContext, order_id: str, order_version: int, amount: Any,
                       payment_type: str, currency: str | None = None) -> Payment:
        """A payment of the whole balance of the order's current version; locks the order."""
        def unit() -> tuple[Payment, Sequence[Aggregate]]:
            order = self._load(order_id, ctx.organisation_id)
            check_payment_fits(order, order_version, amount, currency or order.currency)
            now = self.clock()
            payment = Payment(order.code, order_version, order.organisation_id, amount, order.currency,
                              payment_type, now, ctx.as_event_data())
            order.lock_for_payment(payment.payment_id, now, ctx.as_event_data())
            return payment, [order, payment]

        return self._retrying(unit, order_id)

    def capture_payment(self, payment_id: str, ctx: CommandContext) -> Payment:
        """Register the amount on the order and unlock it; at 0.00 the order confirms. Idempotent."""
        def unit() -> tuple[Payment, Sequence[Saved]]:
            payment = self.get_payment(payment_id, ctx.organisation_id)
            order = self._load(payment.order_id, None)
            if not payment.capture(self.clock(), ctx.as_event_data()):
                return payment, []
            released = self._confirming(order, lambda: order.register_capture(
                payment.as_order_ref(), self.clock(), ctx.as_event_data()))
            return payment, [payment, order, *released]

        return self._retrying(unit, payment_id)

    def cancel_payment(self, payment_id: str, ctx: CommandContext) -> Payment:
        """Cancel a pending payment and lift the order's lock. Idempotent."""
        def unit() -> tuple[Payment, Sequence[Aggregate]]:
            payment = self.get_payment(payment_id, ctx.organisation_id)
            order = self._load(payment.order_id, None)
            if not payment.cancel(self.clock(), "CANCELLED", ctx.as_event_data()):
                return payment, []
            if order.lock and order.lock.payment_id == payment.payment_id:
                order.unlock("PAYMENT_CANCELLED", self.clock(), ctx.as_event_data())
            return payment, [payment, order]

        return self._retrying(unit, payment_id)
