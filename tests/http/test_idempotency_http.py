"""Idempotency-Key on POSTs (contract section 1, Safe retries), on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_OFFER, TRAVELLERS
from ordering.http.idempotency import fingerprint_of, key_id_for
from tests.conftest import FakeClock, auth_headers
from tests.http.test_orders_http import assert_problem
from tests.http.test_sales_http import (
    HEADERS,
    Catalogue,
    availability,
    events_recorded,
    get_order,
    offer,
    pay_in_full,
    seats,
    start_payment,
)

RESERVE = {"offerConfigurations": [offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1])]}


def keyed(key: str, headers: dict[str, str] = HEADERS) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def reserve_with(client: FlaskClient, key: str, body: Any = RESERVE,
                 headers: dict[str, str] = HEADERS) -> Any:
    return client.post("/v1/reserve-offers", json=body, headers=keyed(key, headers))


def the_application(flask_app: Flask) -> OrderingApplication:
    found: OrderingApplication = flask_app.extensions["ordering"].application()
    return found


def test_a_repeated_reservation_is_answered_again_and_reserves_once(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    first = reserve_with(client, "retry-1")
    assert first.status_code == 200, first.json
    assert "Idempotency-Replayed" not in first.headers
    after_first = events_recorded(flask_app)
    again = reserve_with(client, "retry-1", body={**RESERVE})  # the same body, parsed
    assert (again.status_code, again.json) == (200, first.json)
    assert again.headers["Idempotency-Replayed"] == "true"
    assert again.headers["X-Correlation-Id"] != first.headers["X-Correlation-Id"]
    assert events_recorded(flask_app) == after_first and availability(client) == seats(1)


def test_a_repeated_create_answers_the_same_201_and_location(
        flask_app: Flask, client: FlaskClient) -> None:
    first = client.post("/v1/orders", json={"externalReference": "once"}, headers=keyed("create-1"))
    again = client.post("/v1/orders", json={"externalReference": "once"}, headers=keyed("create-1"))
    assert first.status_code == again.status_code == 201
    assert again.headers["Location"] == first.headers["Location"] and again.json["id"] == first.json["id"]
    page = client.get("/v1/orders?externalReference=eq:once", headers=HEADERS).json
    assert page["totalItems"] == 1


def test_the_same_key_for_another_request_is_refused(client: FlaskClient, catalogue: Catalogue) -> None:
    assert reserve_with(client, "k").status_code == 200
    other_body = {"offerConfigurations": [offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[1:2])]}
    assert_problem(reserve_with(client, "k", body=other_body), 422, "IDEMPOTENCY_KEY_REUSED")
    response = client.post("/v1/orders", json={}, headers=keyed("k"))
    assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")
    assert availability(client) == seats(1)


def test_keys_belong_to_one_organisation_and_client(client: FlaskClient, catalogue: Catalogue) -> None:
    assert reserve_with(client, "shared").status_code == 200
    other_client = {**HEADERS, "ET-Client-Name": "other-app"}
    other_org = {**HEADERS, **auth_headers(2)}
    assert "Idempotency-Replayed" not in reserve_with(client, "shared", headers=other_client).headers
    assert "Idempotency-Replayed" not in reserve_with(client, "shared", headers=other_org).headers
    assert availability(client) == seats(3)


def test_a_conflict_is_not_kept_and_the_key_may_be_retried(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = reserve_with(client, "r").json["orderId"]
    assert_problem(client.post(f"/v1/orders/{code}/confirm", headers=keyed("c")), 409, "ORDER_NOT_BALANCED")
    pay_in_full(client, code)
    assert get_order(client, code)["status"] == "CONFIRMED"
    # The key was not spent on the 409: a retry is carried out (and refused for what it finds now).
    assert_problem(client.post(f"/v1/orders/{code}/confirm", headers=keyed("c")), 409, "ORDER_NOT_DRAFT")


def test_a_refusal_for_bad_input_is_kept(flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    first = reserve_with(client, "bad", body={"offerConfigurations": []})
    assert_problem(first, 400, "VALIDATION_FAILED", "offerConfigurations")
    again = reserve_with(client, "bad", body={"offerConfigurations": []})
    assert (again.status_code, again.json["code"], again.headers["Idempotency-Replayed"]) == (
        400, "VALIDATION_FAILED", "true")


def test_a_repeat_while_the_first_is_carried_out_is_told_to_wait(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue, clock: FakeClock) -> None:
    application = the_application(flask_app)
    key_id = key_id_for(1, HEADERS["ET-Client-Name"], "busy")
    assert application.idempotency.claim(key_id, "elsewhere", "another-request", clock(),
                                         clock() + timedelta(seconds=60)) is None
    response = reserve_with(client, "busy")
    assert_problem(response, 422, "IDEMPOTENCY_KEY_REUSED")  # held for another body
    application.idempotency.release(key_id, "another-request")
    first = reserve_with(client, "busy")
    assert first.status_code == 200
    key_id = key_id_for(1, HEADERS["ET-Client-Name"], "busy-2")
    fingerprint_of_same = _fingerprint_of_reserve(flask_app)
    application.idempotency.claim(key_id, fingerprint_of_same, "another-request", clock(),
                                  clock() + timedelta(seconds=60))
    in_use = reserve_with(client, "busy-2")
    assert_problem(in_use, 409, "IDEMPOTENCY_KEY_IN_USE")
    assert in_use.headers["Retry-After"] == "1"


def _fingerprint_of_reserve(flask_app: Flask) -> str:
    with flask_app.test_request_context("/v1/reserve-offers", method="POST", json=RESERVE):
        return fingerprint_of()


def test_a_key_is_forgotten_after_its_time(flask_app: Flask, client: FlaskClient, catalogue: Catalogue,
                                           clock: FakeClock) -> None:
    assert reserve_with(client, "day").status_code == 200
    clock.advance(hours=24, seconds=1)
    assert the_application(flask_app).idempotency.purge(clock()) >= 1
    again = reserve_with(client, "day")
    assert again.status_code == 200 and "Idempotency-Replayed" not in again.headers
    assert availability(client) == seats(2)


def test_a_payment_retried_with_its_key_is_created_once(client: FlaskClient, catalogue: Catalogue) -> None:
    code = reserve_with(client, "order").json["orderId"]
    first = start_payment(client, code, headers=keyed("pay"))
    again = start_payment(client, code, headers=keyed("pay"))
    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"] and again.headers["Idempotency-Replayed"] == "true"


def test_a_bad_key_is_refused(client: FlaskClient, catalogue: Catalogue) -> None:
    assert_problem(reserve_with(client, "x" * 256), 400, "VALIDATION_FAILED", "Idempotency-Key")
    assert_problem(reserve_with(client, ""), 400, "VALIDATION_FAILED", "Idempotency-Key")
