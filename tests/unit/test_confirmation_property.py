"""No sequence of public commands loses a cent or a seat.

A stateful property test: hypothesis drives the application's public commands in any order
(reserve, pay, capture, cancel, confirm, fail, reset, unlock, expire, update, change, fee,
cancel lines, refund, credit) on a few orders, and after every step checks every order and
every confirmation in every order's history: a confirmed version is balanced, the balance is
what the order's own figures say, nothing is credited beyond what was captured, every active
line's seats are held exactly once and a released seat is held for no line.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, precondition, rule

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER, DRAMMEN_OFFER, TRAVELLERS, demo_offers
from ordering.domain.changes import ReplaceConfiguration
from ordering.domain.errors import DomainError
from ordering.domain.order import Order
from ordering.domain.reserving import OfferConfiguration
from ordering.domain.values import Fee, Price
from ordering.http.sales import load_offers
from ordering.representation.order import order_document
from ordering.store import MEMORY_FACTORY_TOPIC
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
    lasting = (clock() + timedelta(days=30)).isoformat()  # time passes in the test; offers stay
    return [{**o, "validUntil": lasting} for o in (*offers, pending, free)]


class Sales(RuleBasedStateMachine):
    orders = Bundle("orders")
    payments = Bundle("payments")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.app = OrderingApplication(env={"PERSISTENCE_MODULE": MEMORY_FACTORY_TOPIC}, clock=self.clock)
        self.app.publish_offers(load_offers(catalogue(self.clock)))
        self.app.set_capacity(BERGEN_DEPARTURE, 4)
        self.codes: list[str] = []

    def attempt(self, command: Any, *args: Any) -> Any:
        try:
            return command(*args)
        except DomainError:
            return None

    @precondition(lambda self: len(self.codes) < 3)  # a few orders, each taken far
    @rule(target=orders)
    def create(self) -> str:
        code = self.app.create_order(CTX).code
        self.codes.append(code)
        return code

    @precondition(lambda self: len(self.codes) < 3)
    @rule(target=orders, offer=st.sampled_from(OFFERS))
    def sell(self, offer: str) -> str:
        """A whole sale in one step, so that the after-sales rules have sold orders to work on."""
        code = self.create()
        self.reserve(code, offer)
        self.settle(code)
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

    def line_of(self, code: str, pick: int) -> str | None:
        lines = self.app.get_order(code, None).active_lines
        return lines[pick % len(lines)].id if lines else None

    @rule(code=orders, pick=st.integers(0, 3), to=st.sampled_from([BERGEN_OFFER, DRAMMEN_OFFER]),
          refund_difference=st.booleans())
    def change(self, code: str, pick: int, to: str, refund_difference: bool) -> None:
        line = self.line_of(code, pick)
        if line:
            self.attempt(self.app.update_order_lines, CTX, code,
                         [ReplaceConfiguration(line, to, TRAVELLERS[:1])], refund_difference)

    @rule(code=orders, kind=st.sampled_from(["MANUAL", "REDUCTION", "PENALTY"]),
          amount=st.sampled_from(["10.00", "129.00", "1000.00"]))
    def add_fee(self, code: str, kind: str, amount: str) -> None:
        price = Price(Decimal(amount), "NOK", Decimal("0.00"))
        self.attempt(self.app.add_fee, CTX, code, Fee(str(uuid4()), kind, price, "property"), None)

    @rule(code=orders, pick=st.integers(0, 3))
    def remove_fee(self, code: str, pick: int) -> None:
        fees = self.app.get_order(code, None).fees
        if fees:
            self.attempt(self.app.remove_fee, CTX, code, fees[pick % len(fees)].id)

    @rule(code=orders, pick=st.integers(0, 3))
    def cancel_line(self, code: str, pick: int) -> None:
        line = self.line_of(code, pick)
        if line:
            self.attempt(self.app.cancel_order_lines, CTX, code, [line], "property")

    @rule(code=orders, dry_run=st.booleans())
    def refund(self, code: str, dry_run: bool) -> None:
        quoted = self.attempt(self.app.refund_options, CTX, code, None)
        if quoted and quoted[1]:
            order, options = quoted
            self.attempt(self.app.refund, CTX, code, order.order_version, [options[0].option_id], dry_run)

    @rule(code=orders)
    def settle(self, code: str) -> None:
        """What a sales channel does next: pay what is due, or credit what is owed, and confirm."""
        order = self.app.get_order(code, None)
        if order.balance > 0:
            payment = self.attempt(self.app.create_payment, CTX, code, order.order_version, order.balance,
                                   "CARD")
            if payment:
                self.attempt(self.app.capture_payment, payment.payment_id, CTX)
        elif order.balance < 0:
            self.attempt(self.app.credit_order, CTX, code, order.order_version, -order.balance, None, "owed")
        self.attempt(self.app.confirm_order, code, CTX)

    @invariant()
    def the_balance_is_what_the_order_s_own_figures_say(self) -> None:
        for code in self.codes:
            document = order_document(self.app.get_order(code, None))
            lines = sum(Decimal(line["price"]["amount"]) for line in document["orderLines"]
                        if line["status"] not in ("REPLACED", "CANCELLED"))
            fees = sum(Decimal(fee["price"]["amount"]) * (-1 if fee["type"] == "REDUCTION" else 1)
                       for fee in document["fees"])
            captured = sum(Decimal(r["amount"]) for r in document["paymentRefs"] if r["status"] == "CAPTURED")
            credited = sum(Decimal(r["amount"]) for r in document["paymentRefs"] if r["status"] == "CREDITED")
            assert Decimal(document["totalAmount"]) == lines + fees >= 0, (code, document)
            assert Decimal(document["balance"]) == lines + fees - captured + credited, (code, document)
            assert credited <= captured, (code, document)

    @invariant()
    def no_order_is_confirmed_unbalanced(self) -> None:
        for code in self.codes:
            order = self.app.get_order(code, None)
            assert order.status == "DRAFT" or order.balance == 0, (code, order.status, order.balance)
            for entry in self.app.order_trail(code, None):
                if type(entry.event).__name__ in ("OrderConfirmed", "OrderFailed"):
                    assert confirmed_balance(self.app, code, entry.sequence) == 0, (code, entry.sequence)

    @invariant()
    def every_active_line_s_seats_are_held_once_and_released_seats_by_no_line(self) -> None:
        holds = self.app.seats.holds_on(BERGEN_DEPARTURE)
        recorded: list[str] = []  # what the orders say they hold (inactive lines until confirmed)
        for code in self.codes:
            order = self.app.get_order(code, None)
            on_bergen = [r for r in order.reservations if r.dated_service_journey_id == BERGEN_DEPARTURE]
            recorded.extend(r.id for r in on_bergen)
            for line in order.active_lines:
                assert all(r.id in holds for r in on_bergen if r.order_line_id == line.id)
            if order.status == "CONFIRMED":  # no inactive line keeps a seat past a confirmation
                active = {line.id for line in order.active_lines}
                assert all(r.order_line_id in active for r in order.reservations), code
        assert sorted(recorded) == sorted(holds), "held seats and the orders disagree"
        reserved = self.app.availability(BERGEN_DEPARTURE).reserved
        assert reserved == sum(hold.seats for hold in holds.values()), "the counter and the holds disagree"


def confirmed_balance(app: OrderingApplication, code: str, sequence: int) -> Decimal:
    order: Order = app.repository.get(app.get_order(code, None).id, version=sequence)
    return order.balance


Sales.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None,
                                   suppress_health_check=[HealthCheck.too_slow])
test_no_sequence_of_commands_confirms_an_unbalanced_order = Sales.TestCase
