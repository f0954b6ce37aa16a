"""No sequence of public commands confirms an order whose balance is not 0.00.

A stateful property test: hypothesis drives the application's public commands in any order
(reserve, pay, capture, cancel, confirm, fail, reset, unlock, expire, update) on a few orders,
and after every step checks every order, and every confirmation in every order's history.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER, DRAMMEN_OFFER, TRAVELLERS, demo_offers
from ordering.domain.errors import DomainError
from ordering.domain.order import Order
from ordering.domain.reserving import OfferConfiguration
from ordering.http.sales import load_offers
from tests.builders import context_of
from tests.conftest import FakeClock

CTX = context_of(1)
PENDING_OFFER = "b0a1e6f2-00ff-4c1a-9e55-6f1d2c3b4aff"
FREE_PENDING_OFFER = "b0a1e6f2-00fe-4c1a-9e55-6f1d2c3b4afe"
OFFERS = [BERGEN_OFFER, DRAMMEN_OFFER, PENDING_OFFER, FREE_PENDING_OFFER]


def catalogue(clock: FakeClock) -> list[dict[str, Any]]:
    """The demo offers and two that wait for a third party's confirmation, one of them free."""
    offers = demo_offers(clock())
    drammen = next(o for o in offers if o["id"] == DRAMMEN_OFFER)
    pending = {**drammen, "id": PENDING_OFFER, "externalConfirmationRequired": True}
    free = {**pending, "id": FREE_PENDING_OFFER, "price": {**drammen["price"], "amount": "0.00",
                                                            "taxAmount": "0.00"}}
    return [*offers, pending, free]


class Sales(RuleBasedStateMachine):
    orders = Bundle("orders")
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.app = OrderingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=self.clock)
        self.app.publish_offers(load_offers(catalogue(self.clock)))
        self.app.set_capacity(BERGEN_DEPARTURE, 3)
        self.codes: list[str] = []

    def attempt(self, command: Any, *args: Any) -> Any:
        try:
            return command(*args)
        except DomainError:
            return None

    @rule(target=orders)
    def create(self) -> str:
        code = self.app.create_order(CTX).code
        self.codes.append(code)
        return code

    @rule(code=orders, offer=st.sampled_from(OFFERS))
    def reserve(self, code: str, offer: str) -> None:
        self.attempt(self.app.reserve_offers, CTX, code, [OfferConfiguration(offer, TRAVELLERS[:1])])

    @rule(target=payments, code=orders, amount=st.sampled_from(["balance", "1.00", "0.00"]))
    def pay(self, code: str, amount: str) -> str | None:
        order = self.app.get_order(code, None)
        paid = order.balance if amount == "balance" else Decimal(amount)
        payment = self.attempt(self.app.create_payment, CTX, code, order.order_version, paid, "CARD")
        return payment.payment_id if payment else None

    @rule(payment=payments)
    def capture(self, payment: str | None) -> None:
        if payment:
            self.attempt(self.app.capture_payment, payment, CTX)

    @rule(payment=payments)
    def cancel(self, payment: str | None) -> None:
        if payment:
            self.attempt(self.app.cancel_payment, payment, CTX)

    @rule(code=orders, action=st.sampled_from(["confirm_order", "reset_order", "unlock_order"]))
    def act(self, code: str, action: str) -> None:
        self.attempt(getattr(self.app, action), code, CTX)

    @rule(code=orders, all_lines=st.booleans())
    def fail(self, code: str, all_lines: bool) -> None:
        lines = None if all_lines else [line.id for line in self.app.get_order(code, None).lines[:1]]
        self.attempt(self.app.fail_order, code, CTX, lines)

    @rule(code=orders)
    def update(self, code: str) -> None:
        self.attempt(self.app.update_order, code, CTX, {"external_reference": "changed"})

    @rule(minutes=st.sampled_from([5, 25, 45]))
    def time_passes_and_expiry_runs(self, minutes: int) -> None:
        now = self.clock.advance(minutes=minutes)
        for code in self.codes:
            self.app.expire_order(code, now)

    @invariant()
    def no_order_is_confirmed_unbalanced(self) -> None:
        for code in self.codes:
            order = self.app.get_order(code, None)
            assert order.status == "DRAFT" or order.balance == 0, (code, order.status, order.balance)
            for entry in self.app.order_trail(code, None):
                if type(entry.event).__name__ in ("OrderConfirmed", "OrderFailed"):
                    assert confirmed_balance(self.app, code, entry.sequence) == 0, (code, entry.sequence)

    @invariant()
    def seats_held_are_the_active_lines_seats(self) -> None:
        held = 0
        for code in self.codes:
            order = self.app.get_order(code, None)
            active = {line.id for line in order.active_lines}
            held += sum(r.seats for r in order.reservations if r.order_line_id in active)
        assert self.app.availability(BERGEN_DEPARTURE)["reserved"] == held


def confirmed_balance(app: OrderingApplication, code: str, sequence: int) -> Decimal:
    order: Order = app.repository.get(app.get_order(code, None).id, version=sequence)
    return order.balance


Sales.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow])
test_no_sequence_of_commands_confirms_an_unbalanced_order = Sales.TestCase
