"""ETag, If-Match and If-None-Match on orders (contract section 1), on both backends."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ordering.demo_catalogue import BERGEN_OFFER, TRAVELLERS
from tests.http.test_orders_http import assert_problem
from tests.http.test_sales_http import (
    HEADERS,
    Catalogue,
    events_recorded,
    get_order,
    offer,
    payment_action,
    reserved,
    start_payment,
)

PRICE = {"amount": "1.00", "currency": "NOK", "taxAmount": "0.00"}


def etag(client: FlaskClient, code: str) -> str:
    response = client.get(f"/v1/orders/{code}", headers=HEADERS)
    assert response.status_code == 200
    return str(response.headers["ETag"])


def matching(tag: str) -> dict[str, str]:
    return {**HEADERS, "If-Match": tag}


def a_draft(client: FlaskClient) -> str:
    return str(reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))["orderId"])


def test_every_answer_carrying_an_order_has_an_etag_that_changes_with_each_event(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = a_draft(client)
    first = etag(client, code)
    updated = client.put(f"/v1/orders/{code}", json={"externalReference": "x"}, headers=HEADERS)
    assert updated.headers["ETag"] != first and updated.headers["ETag"] == etag(client, code)
    payment = start_payment(client, code)
    assert payment.headers["ETag"] == etag(client, code)  # a result naming the order
    captured = payment_action(client, payment.json["id"], "capture")
    assert captured.headers["ETag"] == etag(client, code)
    assert client.get(f"/v1/orders/{code}?version=1", headers=HEADERS).headers["ETag"] == etag(client, code)


def test_a_change_with_a_stale_if_match_changes_nothing(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code = a_draft(client)
    stale = etag(client, code)
    renamed = client.put(f"/v1/orders/{code}", json={"externalReference": "x"}, headers=matching(stale))
    assert renamed.status_code == 200
    before = events_recorded(flask_app)
    attempts: list[Any] = [
        client.put(f"/v1/orders/{code}", json={"externalReference": "y"}, headers=matching(stale)),
        client.post(f"/v1/orders/{code}/reset", headers=matching(stale)),
        client.post(f"/v1/orders/{code}/fees", headers=matching(stale), json={
            "type": "MANUAL", "reason": "r", "price": PRICE}),
        client.post("/v1/payments", headers=matching(stale), json={
            "orderId": code, "orderVersion": 1, "amount": "899.00", "currency": "NOK",
            "paymentType": "VISA"}),
        client.post("/v1/reserve-offers", headers=matching(stale), json={
            "orderId": code,
            "offerConfigurations": [offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[1:2])]}),
    ]
    for response in attempts:
        assert_problem(response, 412, "PRECONDITION_FAILED")
    assert events_recorded(flask_app) == before
    current = etag(client, code)
    changed = client.put(f"/v1/orders/{code}", json={"externalReference": "z"}, headers=matching(current))
    assert changed.status_code == 200 and get_order(client, code)["externalReference"] == "z"
    assert client.put(f"/v1/orders/{code}", json={"externalReference": "w"},
                      headers=matching("*")).status_code == 200


def test_a_capture_with_a_stale_if_match_is_refused(client: FlaskClient, catalogue: Catalogue) -> None:
    code = a_draft(client)
    payment = start_payment(client, code).json["id"]
    stale = "\"not-the-current-one\""
    response = client.post(f"/v1/payments/{payment}/capture", headers=matching(stale))
    assert_problem(response, 412, "PRECONDITION_FAILED")
    assert get_order(client, code)["status"] == "DRAFT"


def test_if_none_match_answers_304_while_the_order_is_unchanged(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = a_draft(client)
    tag = etag(client, code)
    unchanged = client.get(f"/v1/orders/{code}", headers={**HEADERS, "If-None-Match": tag})
    assert (unchanged.status_code, unchanged.get_data(), unchanged.headers["ETag"]) == (304, b"", tag)
    client.put(f"/v1/orders/{code}", json={"externalReference": "x"}, headers=HEADERS)
    changed = client.get(f"/v1/orders/{code}", headers={**HEADERS, "If-None-Match": tag})
    assert changed.status_code == 200 and changed.json["externalReference"] == "x"
    old = client.get(f"/v1/orders/{code}?version=1", headers={**HEADERS, "If-None-Match": tag})
    assert old.status_code in (200, 404)  # never 304 for an earlier version


def test_a_kept_answer_is_replayed_before_if_match_is_checked(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = a_draft(client)
    tag = etag(client, code)
    keyed = {**matching(tag), "Idempotency-Key": "put-once"}
    first = client.post(f"/v1/orders/{code}/reset", headers=keyed)
    assert first.status_code == 200
    again = client.post(f"/v1/orders/{code}/reset", headers=keyed)  # tag is stale now
    assert (again.status_code, again.headers["Idempotency-Replayed"], again.headers["ETag"]) == (
        200, "true", first.headers["ETag"])
