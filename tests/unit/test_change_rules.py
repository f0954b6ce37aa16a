"""The money rules of replacing lines, as pure functions over typed values (contract section 6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordering.domain.changes import Replacement, change_fees, check_replaceable
from ordering.domain.errors import ChangeNotAllowed, InvalidRequest
from ordering.domain.order import LineAddition, Order
from ordering.domain.values import Conditions, Price
from tests.builders import CONTEXT, a_line, captured
from tests.unit.test_order_rules import new_order

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
CTX = CONTEXT.as_event_data()
FIFTY = Price(Decimal("50.00"), "NOK", Decimal("0.00"))
IDS = [f"fee-{n}" for n in range(5)]


def confirmed_with(amount: str) -> Order:
    order = new_order()
    order.add_lines([a_line(amount, "0.00")], T0, T0 + timedelta(minutes=20), CTX)
    order.register_capture(captured(amount), T0, CTX)
    assert order.status == "CONFIRMED"
    return order


def for_the_same_traveller(order: Order, amount: str) -> LineAddition:
    new = a_line(amount, "0.00")
    return replace(new, line=replace(new.line, traveller_ids=order.lines[0].traveller_ids))


def fees_of(order: Order, new_amount: str, conditions: Conditions) -> list[tuple[str, Decimal]]:
    change = Replacement((order.lines[0].id,), (for_the_same_traveller(order, new_amount),), "x")
    check_replaceable(order, [change], {order.lines[0].id: conditions})
    fees = change_fees(order, change, {order.lines[0].id: conditions}, IDS)
    return [(fee.type, fee.price.amount) for fee in fees]


def test_a_cheaper_line_for_a_non_refundable_one_pays_the_change_fee_and_keeps_the_difference() -> None:
    order = confirmed_with("500.00")
    assert fees_of(order, "300.00", Conditions(refundable=False, change_fee=FIFTY)) == [
        ("CHANGE", Decimal("50.00")), ("CHANGE_NON_REFUNDABLE", Decimal("200.00"))]


def test_a_cheaper_line_for_a_refundable_one_pays_only_the_change_fee() -> None:
    order = confirmed_with("500.00")
    assert fees_of(order, "300.00", Conditions(refundable=True, change_fee=FIFTY)) == [
        ("CHANGE", Decimal("50.00"))]


def test_a_dearer_line_adds_no_difference_fee_and_a_free_change_no_fee_at_all() -> None:
    order = confirmed_with("500.00")
    assert fees_of(order, "700.00", Conditions(refundable=False)) == []


def test_a_line_never_confirmed_is_replaced_without_any_fee() -> None:
    order = new_order()
    order.add_lines([a_line("500.00", "0.00")], T0, T0 + timedelta(minutes=20), CTX)
    assert fees_of(order, "300.00", Conditions(refundable=False, change_fee=FIFTY)) == []


def test_a_line_that_may_not_change_or_is_not_the_orders_is_refused() -> None:
    order = confirmed_with("500.00")
    with pytest.raises(ChangeNotAllowed):
        fees_of(order, "300.00", Conditions(changeable=False))
    stranger = Replacement(("not-a-line",), (for_the_same_traveller(order, "1.00"),), "x")
    with pytest.raises(InvalidRequest):
        check_replaceable(order, [stranger], {})


def test_a_fee_stored_before_clients_could_add_fees_loads_as_the_service_s_own() -> None:
    from ordering.domain.values import Fee

    price = {"amount": "50.00", "currency": "NOK", "taxAmount": "5.36"}
    stored = {"id": "f1", "type": "CHANGE", "price": price,
              "reason": "change of the order line", "orderLineIds": ["l1"], "externalReference": None,
              "version": 2}  # as issue 11's OrderLinesReplaced events stored it
    fee = Fee.from_wire(stored)
    assert (fee.by_client, fee.order_line_ids, fee.version) == (False, ("l1",), 2)
    client_fee = Fee.from_wire({**stored, "type": "ONBOARD", "byClient": True})
    assert Fee.from_wire(client_fee.to_wire()) == client_fee and client_fee.by_client
