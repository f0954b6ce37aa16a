"""Changes under concurrency, on both backends: two clients changing one line, a change racing
its own expiry. One wins cleanly; seats always equal what the active lines hold."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from ordering.application import OrderingApplication
from ordering.bootstrap import Services
from ordering.demo_catalogue import (
    BERGEN_DEPARTURE,
    BERGEN_LATER_DEPARTURE,
    BERGEN_MINIPRIS_OFFER,
    BERGEN_OFFER,
    TRAVELLERS,
    demo_offers,
)
from ordering.domain.changes import ReplaceConfiguration
from ordering.domain.errors import DomainError
from ordering.domain.reserving import OfferConfiguration
from ordering.domain.values import Fee, Price
from ordering.http.sales import load_offers
from projections import maintenance
from projections.search import parse_query
from tests.builders import context_of, run_together
from tests.conftest import FakeClock

CTX = context_of(1)


def sold_bergen_seat(application: OrderingApplication) -> tuple[str, str]:
    application.publish_offers(load_offers(demo_offers(application.clock())))
    application.set_capacity(BERGEN_DEPARTURE, 10)
    return another_bergen_seat(application)


def another_bergen_seat(application: OrderingApplication) -> tuple[str, str]:
    reservation = application.reserve_offers(CTX, None, [OfferConfiguration(BERGEN_OFFER, TRAVELLERS[:1])])
    code = reservation.order.code
    order = application.get_order(code, 1)
    payment = application.create_payment(CTX, code, 1, order.balance, "VISA")
    application.capture_payment(payment.payment_id, CTX)
    return code, reservation.additions[0].line.id


def held_by_active_lines(application: OrderingApplication, code: str) -> int:
    order = application.get_order(code, None)
    active = {line.id for line in order.active_lines}
    return sum(r.seats for r in order.reservations if r.order_line_id in active)


def held_on_departure(application: OrderingApplication) -> int:
    return application.availability(BERGEN_DEPARTURE).reserved


def test_two_clients_replacing_the_same_line_one_wins_and_the_seats_add_up(
        application: OrderingApplication) -> None:
    code, line = sold_bergen_seat(application)
    outcomes: list[str] = []

    def change() -> None:
        try:
            application.update_order_lines(
                CTX, code, [ReplaceConfiguration(line, BERGEN_OFFER, TRAVELLERS[:1])])
            outcomes.append("CHANGED")
        except DomainError as error:
            outcomes.append(error.code)

    run_together(change, change)
    assert sorted(outcomes)[0] == "CHANGED" and outcomes.count("CHANGED") == 1, outcomes
    order = application.get_order(code, None)
    assert [x.status for x in order.lines] == ["REPLACED", "DRAFT"]
    assert held_on_departure(application) == 2  # the replaced line's seat until confirmation
    assert held_by_active_lines(application, code) == 1


def test_a_change_racing_its_own_expiry_either_pays_or_goes_back_with_its_seats(
        application: OrderingApplication, clock: FakeClock) -> None:
    code, line = sold_bergen_seat(application)
    application.update_order_lines(CTX, code, [ReplaceConfiguration(line, BERGEN_OFFER, TRAVELLERS[:1])])
    due = clock.advance(minutes=21)
    balance = application.get_order(code, None).balance
    outcomes: list[str] = []

    def pay() -> None:
        try:
            application.create_payment(CTX, code, 2, balance, "VISA")
            outcomes.append("PAYING")
        except DomainError as error:
            outcomes.append(error.code)

    def expire() -> None:
        outcomes.append("EXPIRED" if application.expire_order(code, due) else "NOT_DUE")

    run_together(pay, expire)
    order = application.get_order(code, None)
    if order.order_version == 1:  # expiry won: back to version 1, the new seat given back
        assert "EXPIRED" in outcomes and order.status == "CONFIRMED"
        assert [x.id for x in order.active_lines] == [line]
        assert held_on_departure(application) == 1
    else:  # the payment won: the order is locked at version 2, both seats still held
        assert "PAYING" in outcomes and order.locked
        assert held_on_departure(application) == 2
    assert held_by_active_lines(application, code) == 1


def test_after_a_change_the_read_model_matches_the_events_and_replaced_lines_stop_matching(
        services: Services) -> None:
    application = services.application
    code, line = sold_bergen_seat(application)
    cheaper = ReplaceConfiguration(line, BERGEN_MINIPRIS_OFFER, TRAVELLERS[:1])
    application.update_order_lines(CTX, code, [cheaper], refund_price_difference=True)
    on_bergen = parse_query({"datedServiceJourneyId": [BERGEN_DEPARTURE]})
    on_later = parse_query({"datedServiceJourneyId": [BERGEN_LATER_DEPARTURE]})
    assert services.read_model.search(1, on_bergen)["items"] == []
    assert [o["id"] for o in services.read_model.search(1, on_later)["items"]] == [code]
    assert maintenance.verify(services.read_model, lambda _: None) == 0
    maintenance.rebuild(services.read_model, lambda *_: None)
    assert maintenance.verify(services.read_model, lambda _: None) == 0


def test_two_clients_refunding_the_same_line_at_once_credit_it_once(
        application: OrderingApplication) -> None:
    code, _ = sold_bergen_seat(application)
    _, [option] = application.refund_options(CTX, code, None)
    outcomes: list[str] = []

    def refund() -> None:
        try:
            application.refund(CTX, code, 1, [option.option_id])
            outcomes.append("REFUNDED")
        except DomainError as error:
            outcomes.append(error.code)

    run_together(refund, refund)
    assert sorted(outcomes) == ["REFUNDED", "VERSION_MISMATCH"], outcomes
    order = application.get_order(code, None)
    assert (order.order_version, order.status, order.balance) == (2, "CONFIRMED", 0)
    assert order.credited_amount == option.refund_amount == 799 and order.captured_amount == 899
    assert held_on_departure(application) == 0


def test_after_fees_cancellations_and_refunds_searches_see_the_new_totals_and_rebuild_agrees(
        services: Services) -> None:
    application = services.application
    refunded, _ = sold_bergen_seat(application)
    _, [option] = application.refund_options(CTX, refunded, None)
    application.refund(CTX, refunded, 1, [option.option_id])  # 899 - 799: 100.00 left, the fee
    cancelled, line = another_bergen_seat(application)
    application.cancel_order_lines(CTX, cancelled, [line], "ill")  # 899.00 kept as a MANUAL fee
    application.confirm_order(cancelled, CTX)
    fined, _ = another_bergen_seat(application)
    application.add_fee(CTX, fined, Fee(str(uuid4()), "PENALTY", Price(Decimal("50.00"), "NOK", Decimal("0")),
                                        "no ticket"), 1)

    def found(**query: str) -> list[str]:
        page = services.read_model.search(1, parse_query({k: [v] for k, v in query.items()}))
        return sorted(order["id"] for order in page["items"])

    assert found(totalAmount="eq:100.00") == [refunded]
    assert found(balance="gt:0.00") == [fined]
    assert found(totalAmount="eq:899.00", status="eq:CONFIRMED") == [cancelled]
    assert found(datedServiceJourneyId=BERGEN_DEPARTURE) == [fined]  # only active lines match
    assert maintenance.verify(services.read_model, lambda _: None) == 0
    maintenance.rebuild(services.read_model, lambda *_: None)
    assert maintenance.verify(services.read_model, lambda _: None) == 0
    assert found(totalAmount="eq:100.00") == [refunded]
