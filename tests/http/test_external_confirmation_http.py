"""Lines a third party must confirm (contract section 2, external confirmation), both backends."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.demo_catalogue import (
    BERGEN_MINIPRIS_OFFER,
    BERGEN_OFFER,
    BERGEN_PREMIUM_OFFER,
    DRAMMEN_OFFER,
    TRAVELLERS,
)
from tests.conftest import FakeClock
from tests.http.test_orders_http import assert_problem
from tests.http.test_sales_http import (
    HEADERS,
    Catalogue,
    availability,
    get_order,
    offer,
    pay_in_full,
    publish,
    reserve,
    reserved,
    seats,
    trail_types,
    variant,
)


def paid_and_waiting(client: FlaskClient, offer_id: str) -> tuple[str, str]:
    answer = reserved(client, offer(offer_id, selectedTravellerIds=TRAVELLERS[:1]))
    code, line = answer["orderId"], answer["orderLineIds"][0]
    pay_in_full(client, code)
    return code, line


def confirm_lines(client: FlaskClient, code: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/v1/orders/{code}/orderlines/confirm", json=body or {}, headers=HEADERS)


def test_a_paid_order_waits_as_a_draft_until_its_line_is_confirmed(
        client: FlaskClient, confirmed_by_others: str) -> None:
    code, _ = paid_and_waiting(client, confirmed_by_others)
    order = get_order(client, code)
    assert (order["status"], order["balance"], order["orderLines"][0]["externalConfirmation"]) == (
        "DRAFT", "0.00", "PENDING")
    assert_problem(client.post(f"/v1/orders/{code}/confirm", headers=HEADERS), 409,
                   "EXTERNAL_CONFIRMATION_PENDING")
    more = reserve(client, offer(DRAMMEN_OFFER), order_id=code)
    assert_problem(more, 409, "EXTERNAL_CONFIRMATION_PENDING")
    assert_problem(confirm_lines(client, code, {"orderLineIds": ["not-pending"]}), 400,
                   "VALIDATION_FAILED", "orderLineIds")
    confirmed = confirm_lines(client, code)
    assert confirmed.status_code == 200, confirmed.json
    assert (confirmed.json["status"], confirmed.json["orderLines"][0]["externalConfirmation"]) == (
        "CONFIRMED", "SUCCESS")
    assert trail_types(client, code)[-2:] == ["OrderLinesConfirmed", "OrderConfirmed"]


def test_an_unpaid_order_s_line_confirmed_by_others_still_waits_for_its_money(
        client: FlaskClient, confirmed_by_others: str) -> None:
    code = reserved(client, offer(confirmed_by_others, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    answer = confirm_lines(client, code)
    assert answer.status_code == 200
    line = answer.json["orderLines"][0]
    assert (answer.json["status"], line["externalConfirmation"]) == ("DRAFT", "SUCCESS")
    pay_in_full(client, code)
    assert get_order(client, code)["status"] == "CONFIRMED"


def test_a_paid_waiting_order_fails_instead_of_being_scrapped_on_reset(
        client: FlaskClient, confirmed_by_others: str) -> None:
    code, _ = paid_and_waiting(client, confirmed_by_others)
    reset = client.post(f"/v1/orders/{code}/reset", headers=HEADERS)
    assert reset.status_code == 200
    order = reset.json
    assert (order["status"], order["failed"], order["balance"]) == ("CONFIRMED", True, "0.00")
    assert order["orderLines"][0]["externalConfirmation"] == "FAILED"
    assert [ref["status"] for ref in order["paymentRefs"]] == ["CAPTURED"]  # the money stays on record
    options = client.get(f"/v1/change-options?orderId={code}", headers=HEADERS).json
    refund = next(o for o in options["orderLineOptions"][0]["options"] if o["type"] == "REFUND")
    assert (refund["allowed"], refund["fee"]) == (True, None)  # a failed line refunds in full


def test_a_paid_waiting_order_fails_when_it_expires(
        flask_app: Flask, client: FlaskClient, clock: FakeClock, confirmed_by_others: str) -> None:
    code, _ = paid_and_waiting(client, confirmed_by_others)
    application = flask_app.extensions["ordering"].application()
    assert application.expire_order(code, clock.advance(minutes=30))
    order = get_order(client, code)
    assert (order["status"], order["failed"], order["totalAmount"]) == ("CONFIRMED", True, "129.00")
    assert "OrderExpired" not in trail_types(client, code) and "OrderFailed" in trail_types(client, code)


def changed_to_a_waiting_line(client: FlaskClient, catalogue: Catalogue, cheaper_or_dearer: str,
                              **extra: Any) -> tuple[str, Any]:
    """A sold Bergen seat changed to a line (no seat) a third party must confirm."""
    waiting = variant(catalogue[cheaper_or_dearer], externalConfirmationRequired=True)
    assert publish(client, waiting).status_code == 201
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))
    code, line = answer["orderId"], answer["orderLineIds"][0]
    pay_in_full(client, code)
    changed = client.post("/v1/update-order", headers=HEADERS, json={
        "orderId": code, "offerConfigurations": [{"orderLineId": line, "offerId": waiting["id"],
                                                  "selectedTravellerIds": TRAVELLERS[:1]}], **extra})
    assert changed.status_code == 200, changed.json
    return code, changed.json


@pytest.mark.parametrize("ending", ["reset", "fail"])
def test_a_changed_order_that_fails_gives_the_replaced_line_s_seat_back(
        client: FlaskClient, catalogue: Catalogue, ending: str) -> None:
    code, _ = changed_to_a_waiting_line(client, catalogue, BERGEN_PREMIUM_OFFER)
    assert availability(client) == seats(1)
    pay_in_full(client, code)  # the difference is paid; the new line still waits
    assert get_order(client, code)["status"] == "DRAFT"
    answer = client.post(f"/v1/orders/{code}/{ending}", headers=HEADERS, json={})
    assert (answer.json["status"], answer.json["failed"]) == ("CONFIRMED", True)
    assert availability(client) == seats(0) and answer.json["reservations"] == []


def test_money_credited_to_a_waiting_order_stays_on_record_when_it_is_reset(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = changed_to_a_waiting_line(client, catalogue, BERGEN_MINIPRIS_OFFER, refundPriceDifference=True)
    waiting = get_order(client, code)
    assert (waiting["status"], waiting["balance"]) == ("DRAFT", "0.00")
    assert [ref["status"] for ref in waiting["paymentRefs"]] == ["CAPTURED", "CREDITED"]
    reset = client.post(f"/v1/orders/{code}/reset", headers=HEADERS).json
    assert (reset["status"], reset["failed"], reset["version"]) == ("CONFIRMED", True, 2)
    assert [ref["status"] for ref in reset["paymentRefs"]] == ["CAPTURED", "CREDITED"]
    zero = client.post("/v1/credits", headers=HEADERS, json={
        "orderId": code, "orderVersion": 2, "amount": "0.00", "reason": "nothing"})
    assert_problem(zero, 409, "ORDER_NOT_DRAFT")


def test_a_credit_of_nothing_is_refused(client: FlaskClient, confirmed_by_others: str) -> None:
    code = reserved(client, offer(DRAMMEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    zero = client.post("/v1/credits", headers=HEADERS, json={
        "orderId": code, "orderVersion": 1, "amount": "0.00", "reason": "nothing"})
    assert_problem(zero, 400, "VALIDATION_FAILED", "amount")


def test_nothing_waiting_and_a_balanced_draft_confirms_on_orderlines_confirm(
        client: FlaskClient, confirmed_by_others: str) -> None:
    code = reserved(client, offer(confirmed_by_others, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    assert confirm_lines(client, code, {"orderLineIds": []}).json["status"] == "DRAFT"
    assert trail_types(client, code)[-1] == "OrderLineAdded"  # an empty list records nothing
