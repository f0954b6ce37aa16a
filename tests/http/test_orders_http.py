"""The Orders section of the contract over HTTP (Flask test client), on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient

from ordering.domain.order import Order
from tests.builders import a_line, captured, context_of
from tests.conftest import JWT_SECRET, FakeClock, auth_headers

HEADERS = auth_headers()


def create(client: FlaskClient, body: dict[str, Any] | None = None, **headers: str) -> Any:
    response = client.post("/v1/orders", json=body or {}, headers={**HEADERS, **headers})
    assert response.status_code == 201, response.json
    return response.json


def fill_and_pay(flask_app: Flask, code: str, amount: str = "100.00") -> None:
    """Puts a paid line in the order through the application (reserving is a later issue)."""
    application = flask_app.extensions["ordering"].application()
    ctx = context_of(1)

    def act(order: Order) -> None:
        now = application.clock()
        order.add_lines([a_line(amount)], now, now + timedelta(minutes=20), ctx.as_event_data())
        order.register_capture(captured(str(order.balance)), now, ctx.as_event_data())

    application._change(code, ctx, act)


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == code and body["status"] == status
    assert body["correlationId"] == response.headers["X-Correlation-Id"]
    if field:
        assert field in [e["field"] for e in body["errors"]], body


def test_creating_an_order_answers_201_with_an_empty_draft(client: FlaskClient, clock: FakeClock) -> None:
    response = client.post("/v1/orders", json={"externalReference": "ref-1"}, headers=HEADERS)
    order = response.json
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/v1/orders/{order['id']}")
    assert order["status"] == "DRAFT" and order["version"] == 1
    assert (order["totalAmount"], order["balance"], order["currency"]) == ("0.00", "0.00", "NOK")
    assert order["pos"] == "Entur-APP"
    assert order["distributionChannelId"] == "ENT:DistributionChannel:Web"
    assert order["createdAt"] == "2026-11-22T10:00:00Z"
    assert order["expireAt"] == "2026-11-22T10:20:00Z"
    assert order["organisationId"] == 1 and order["createdBy"] == "tester"
    assert client.get(f"/v1/orders/{order['id']}", headers=HEADERS).json == order


def test_updating_header_fields_keeps_status_and_version(client: FlaskClient, flask_app: Flask) -> None:
    code = create(client)["id"]
    fill_and_pay(flask_app, code)
    response = client.put(f"/v1/orders/{code}", headers=HEADERS, json={
        "contactInfo": {"email": "kari@example.no"}, "specialOrderCause": {"cause": "zero ticket"}})
    order = response.json
    assert response.status_code == 200
    assert (order["status"], order["version"]) == ("CONFIRMED", 1)
    assert order["contactInfo"] == {"email": "kari@example.no"}
    assert order["specialOrderCause"] == {"cause": "zero ticket"}


def test_an_earlier_confirmed_version_is_readable_and_others_are_not(
    client: FlaskClient, flask_app: Flask
) -> None:
    code = create(client)["id"]
    fill_and_pay(flask_app, code, "100.00")
    fill_and_pay(flask_app, code, "25.50")
    first = client.get(f"/v1/orders/{code}?version=1", headers=HEADERS).json
    assert (first["version"], first["totalAmount"], first["status"]) == (1, "100.00", "CONFIRMED")
    assert client.get(f"/v1/orders/{code}", headers=HEADERS).json["totalAmount"] == "125.50"
    assert_problem(client.get(f"/v1/orders/{code}?version=3", headers=HEADERS), 404,
                   "VERSION_NOT_FOUND")


def test_confirm_reset_unlock_and_fail_follow_the_contract(client: FlaskClient) -> None:
    code = create(client)["id"]
    assert_problem(client.post(f"/v1/orders/{code}/confirm", headers=HEADERS), 409, "ORDER_EMPTY")
    for action in ("reset", "unlock"):
        response = client.post(f"/v1/orders/{code}/{action}", headers=HEADERS)
        assert response.status_code == 200 and response.json["status"] == "DRAFT"
    for body in ({}, None, {"orderLineIds": ["x"]}):
        response = client.post(f"/v1/orders/{code}/fail", headers=HEADERS, json=body)
        assert_problem(response, 409, "NOTHING_TO_FAIL")
    trail = client.get(f"/v1/orders/{code}/events", headers=HEADERS).json
    assert [e["type"] for e in trail["events"]] == ["OrderCreated"]


def test_an_unpaid_draft_never_fails_into_a_confirmed_order(flask_app: Flask, client: FlaskClient) -> None:
    code = create(client)["id"]
    application = flask_app.extensions["ordering"].application()
    application._change(code, context_of(1), lambda order: order.add_lines(
        [a_line()], application.clock(), application.clock() + timedelta(minutes=20), {}))
    assert_problem(client.post(f"/v1/orders/{code}/fail", headers=HEADERS), 409, "NOTHING_TO_FAIL")
    order = client.get(f"/v1/orders/{code}", headers=HEADERS).json
    assert (order["status"], order["failed"], order["balance"]) == ("DRAFT", False, "100.00")


def test_failing_a_confirmed_order_answers_it_unchanged(flask_app: Flask, client: FlaskClient) -> None:
    code = create(client)["id"]
    fill_and_pay(flask_app, code)
    confirmed = client.get(f"/v1/orders/{code}", headers=HEADERS).json
    response = client.post(f"/v1/orders/{code}/fail", headers=HEADERS, json={"orderLineIds": ["x"]})
    assert response.status_code == 200 and response.json == confirmed
    assert_problem(client.post(f"/v1/orders/{code}/confirm", headers=HEADERS), 409, "ORDER_NOT_DRAFT")


def test_the_audit_trail_carries_each_events_request_context(client: FlaskClient) -> None:
    code = create(client, {"externalReference": "a"}, **{"X-Correlation-Id": "corr-create"})["id"]
    response = client.put(f"/v1/orders/{code}", json={"externalReference": "b"},
                          headers={**HEADERS, "X-Correlation-Id": "corr-update"})
    assert response.headers["X-Correlation-Id"] == "corr-update"
    trail = client.get(f"/v1/orders/{code}/events", headers=HEADERS).json
    assert trail["orderId"] == code
    created, updated = trail["events"]
    assert (created["sequence"], created["type"], created["orderVersion"]) == (1, "OrderCreated", 1)
    command_id = created["context"].pop("commandId")
    assert created["context"] == {
        "correlationId": "corr-create", "clientName": "acme-tests", "organisationId": 1,
        "subject": "tester", "pos": "Entur-APP",
        "distributionChannelId": "ENT:DistributionChannel:Web"}
    assert updated["type"] == "OrderUpdated"
    assert updated["data"] == {"changes": {"externalReference": "b"}}
    assert updated["context"]["correlationId"] == "corr-update"
    assert str(uuid.UUID(command_id)) == command_id != updated["context"]["commandId"]


def test_another_organisations_order_answers_404_like_a_missing_one(client: FlaskClient) -> None:
    code = create(client)["id"]
    other = auth_headers(organisation_id=2)
    for response in (client.get(f"/v1/orders/{code}", headers=other),
                     client.put(f"/v1/orders/{code}", headers=other, json={"externalReference": "x"}),
                     client.post(f"/v1/orders/{code}/confirm", headers=other),
                     client.get(f"/v1/orders/{code}/events", headers=other),
                     client.get("/v1/orders/ZZZZZZZZ", headers=HEADERS)):
        assert_problem(response, 404, "ORDER_NOT_FOUND")
    operator = auth_headers(organisation_id=2, permissions=("audit:read-all",))
    assert client.get(f"/v1/orders/{code}/events", headers=operator).status_code == 200


def test_acting_on_behalf_of_another_organisation_needs_the_permission(client: FlaskClient) -> None:
    response = client.post("/v1/orders", json={"organisationOverride": 7}, headers=HEADERS)
    assert_problem(response, 403, "FORBIDDEN")
    response = client.post("/v1/orders", json={}, headers={**HEADERS, "Entur-On-Behalf-Of": "7"})
    assert_problem(response, 403, "FORBIDDEN")
    allowed = auth_headers(permissions=("orders:on-behalf-of",))
    order = create(client, {}, **{**allowed, "Entur-On-Behalf-Of": "7"})
    assert order["organisationId"] == 7
    assert create(client, {"organisationOverride": 8}, **allowed)["organisationId"] == 8


def test_missing_expired_or_forged_tokens_answer_401(client: FlaskClient) -> None:
    expired = jwt.encode({"https://entur.io/organisationID": 1, "exp": 1}, JWT_SECRET)
    forged = jwt.encode({"https://entur.io/organisationID": 1, "exp": 4102444800}, "wrong-key-" * 4)
    no_org = jwt.encode({"sub": "x", "exp": 4102444800}, JWT_SECRET)
    for authorization in (None, "Bearer", "Basic abc", f"Bearer {expired}", f"Bearer {forged}",
                          f"Bearer {no_org}", "Bearer not.a.jwt"):
        headers = {"Authorization": authorization} if authorization else {}
        assert_problem(client.post("/v1/orders", json={}, headers=headers), 401, "UNAUTHENTICATED")


def test_every_class_of_bad_input_gets_a_400_naming_the_field(client: FlaskClient) -> None:
    code = create(client)["id"]
    cases = [
        ("post", "/v1/orders", {"colour": "red"}, "colour"),
        ("post", "/v1/orders", {"currency": "kroner"}, "currency"),
        ("post", "/v1/orders", {"currency": 578}, "currency"),
        ("post", "/v1/orders", {"expireAt": "2026-11-22T10:10:00"}, "expireAt"),
        ("post", "/v1/orders", {"expireAt": "yesterday"}, "expireAt"),
        ("post", "/v1/orders", {"expireAt": "2026-11-22T09:00:00Z"}, "expireAt"),
        ("post", "/v1/orders", {"expireAt": "2027-12-01T00:00:00+01:00"}, "expireAt"),
        ("post", "/v1/orders", {"organisationOverride": "7"}, "organisationOverride"),
        ("post", "/v1/orders", {"contactInfo": "kari"}, "contactInfo"),
        ("post", "/v1/orders", {"contactInfo": {"email": {"nested": 1}}}, "contactInfo.email.value"),
        ("post", "/v1/orders", {"externalReference": "x" * 201}, "externalReference"),
        ("put", f"/v1/orders/{code}", {"expireAt": None}, "expireAt"),
        ("put", f"/v1/orders/{code}", {"version": 2}, "version"),
        ("post", f"/v1/orders/{code}/fail", {"orderLineIds": "all"}, "orderLineIds"),
    ]
    for method, path, body, field in cases:
        response = getattr(client, method)(path, json=body, headers=HEADERS)
        assert_problem(response, 400, "VALIDATION_FAILED", field)


def test_unparseable_requests_still_get_problem_bodies(client: FlaskClient) -> None:
    code = create(client)["id"]
    json_headers = {**HEADERS, "Content-Type": "application/json"}
    assert_problem(client.post("/v1/orders", data="{bad", headers=json_headers), 400,
                   "VALIDATION_FAILED", "body")
    assert_problem(client.post("/v1/orders", data="[1, 2]", headers=json_headers), 400,
                   "VALIDATION_FAILED")
    assert_problem(client.post("/v1/orders", data=b"\xff\xfe\x00", headers=json_headers), 400,
                   "VALIDATION_FAILED")
    assert_problem(client.post("/v1/orders", data="a=b", headers={**HEADERS,
                   "Content-Type": "application/x-www-form-urlencoded"}), 415,
                   "UNSUPPORTED_MEDIA_TYPE", "Content-Type")
    assert_problem(client.post("/v1/orders", data="x" * 2_000_000, headers=json_headers), 413,
                   "PAYLOAD_TOO_LARGE")
    assert_problem(client.get(f"/v1/orders/{code}?version=abc", headers=HEADERS), 400,
                   "VALIDATION_FAILED", "version")
    assert_problem(client.get(f"/v1/orders/{code}?version=0", headers=HEADERS), 400,
                   "VALIDATION_FAILED", "version")
    assert_problem(client.get(f"/v1/orders/{code}?colour=red", headers=HEADERS), 400,
                   "VALIDATION_FAILED", "colour")
    assert_problem(client.delete(f"/v1/orders/{code}", headers=HEADERS), 405, "METHOD_NOT_ALLOWED")
    assert_problem(client.get("/v1/nothing-here", headers=HEADERS), 404, "NOT_FOUND")
    bad_header = {**HEADERS, "X-Correlation-Id": "x" * 300}
    assert_problem(client.get(f"/v1/orders/{code}", headers=bad_header), 400, "VALIDATION_FAILED",
                   "X-Correlation-Id")


def test_the_correlation_id_is_echoed_or_generated(client: FlaskClient) -> None:
    given = client.get("/health/live", headers={"X-Correlation-Id": "abc-123"})
    assert given.headers["X-Correlation-Id"] == "abc-123"
    generated = client.get("/health/live").headers["X-Correlation-Id"]
    assert len(generated) == 36


def test_health_openapi_and_offline_docs_are_served(client: FlaskClient) -> None:
    assert client.get("/health/live").json == {"status": "UP"}
    assert client.get("/health/ready").json["status"] == "UP"
    spec = client.get("/openapi.json").json
    assert {"/v1/orders", "/v1/orders/{order_id}", "/v1/orders/{order_id}/events"} <= set(spec["paths"])
    docs = client.get("/docs").get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in docs and "//cdn" not in docs
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_bodies_that_would_exhaust_the_parser_get_400_not_500(client: FlaskClient) -> None:
    json_headers = {**HEADERS, "Content-Type": "application/json"}
    for body in ("[" * 100_000 + "]" * 100_000,
                 '{"contactInfo":' * 50_000 + "1" + "}" * 50_000,
                 '{"organisationOverride": 1' + "0" * 5000 + "}"):
        assert_problem(client.post("/v1/orders", data=body, headers=json_headers), 400,
                       "VALIDATION_FAILED", "body")
    for moment in ("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        assert_problem(client.post("/v1/orders", json={"expireAt": moment}, headers=HEADERS), 400,
                       "VALIDATION_FAILED", "expireAt")
        assert_problem(client.get("/v1/orders", query_string={"createdAt": f"gt:{moment}"}, headers=HEADERS),
                       400, "VALIDATION_FAILED", "createdAt")


def test_a_token_accepted_before_is_refused_once_it_expires(client: FlaskClient) -> None:
    soon = jwt.encode({"https://entur.io/organisationID": 1, "exp": int(time.time()) + 2}, JWT_SECRET)
    headers = {**auth_headers(), "Authorization": f"Bearer {soon}"}
    assert client.post("/v1/orders", json={}, headers=headers).status_code == 201
    time.sleep(2.5)  # past its exp: the signature was checked once, the expiry is checked every time
    assert_problem(client.post("/v1/orders", json={}, headers=headers), 401, "UNAUTHENTICATED")
