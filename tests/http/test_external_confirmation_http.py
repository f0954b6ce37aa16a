"""Lines a third party must confirm (contract section 2, external confirmation), both backends."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.demo_catalogue import DRAMMEN_OFFER, TRAVELLERS
from tests.conftest import FakeClock
from tests.http.test_orders_http import assert_problem
from tests.http.test_sales_http import (
    HEADERS,
    Catalogue,
    get_order,
    offer,
    pay_in_full,
    publish,
    reserve,
    reserved,
    trail_types,
    variant,
)


@pytest.fixture
def confirmed_by_others(client: FlaskClient, catalogue: Catalogue) -> str:
    """An offer whose lines a third party must confirm (Drammen - Oslo S, 129.00)."""
    external = variant(catalogue[DRAMMEN_OFFER], externalConfirmationRequired=True)
    assert publish(client, external).status_code == 201
    return str(external["id"])


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
