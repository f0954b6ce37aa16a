"""Time travel (``GET /v1/orders/{id}?at=``) and version diffs (``/changes``) over HTTP, both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.cli import register_commands
from ordering.demo_catalogue import BERGEN_MINIPRIS_OFFER, BERGEN_OFFER, TRAVELLERS, TRONDHEIM_OFFER
from tests.conftest import FakeClock, auth_headers
from tests.http.test_after_sales_http import add_supplements, bicycle, replacing, sold, update
from tests.http.test_orders_http import assert_problem
from tests.http.test_refunds_http import add_fee, cancel, options, refund
from tests.http.test_sales_http import HEADERS, Catalogue, get_order, offer, pay_in_full, reserved

OTHER_ORGANISATION = auth_headers(organisation_id=2)


class WallClock(FakeClock):
    """The service's clock is the wall clock here, as in production: the order's own times
    (createdAt, lastConfirmedAt) are then instants a client may travel to."""

    def __init__(self) -> None:
        pass

    @property  # type: ignore[override]
    def now(self) -> datetime:
        return datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC)


@pytest.fixture
def clock() -> FakeClock:
    return WallClock()


def instant() -> str:
    """Now, as a client would write it (event timestamps are the store's wall clock)."""
    return datetime.now(UTC).isoformat()


def at(client: FlaskClient, code: str, when: str, headers: dict[str, str] = HEADERS, **query: Any) -> Any:
    return client.get(f"/v1/orders/{code}", query_string={"at": when, **query}, headers=headers)


def changes(client: FlaskClient, code: str, headers: dict[str, str] = HEADERS, **query: Any) -> Any:
    return client.get(f"/v1/orders/{code}/changes", query_string=query, headers=headers)


def test_the_order_is_read_back_as_it_stood_at_each_instant(
        client: FlaskClient, catalogue: Catalogue) -> None:
    created = client.post("/v1/orders", json={"externalReference": "first"}, headers=HEADERS).json
    code = created["id"]
    after_creation = instant()
    client.put(f"/v1/orders/{code}", json={"externalReference": "second"}, headers=HEADERS)
    after_update = instant()
    client.post("/v1/reserve-offers", headers=HEADERS, json={
        "orderId": code, "offerConfigurations": [{"offerId": BERGEN_OFFER,
                                                   "selectedTravellerIds": catalogue[BERGEN_OFFER][
                                                       "travellerMapping"][0]["travellerIds"][:1]}]})
    after_reserving = instant()
    pay_in_full(client, code)

    assert at(client, code, after_creation).json == created
    second = at(client, code, after_update).json
    assert (second["externalReference"], second["orderLines"]) == ("second", [])
    reserving = at(client, code, after_reserving).json
    assert (reserving["status"], len(reserving["orderLines"]), reserving["balance"]) == ("DRAFT", 1, "899.00")
    current = get_order(client, code)
    assert current["status"] == "CONFIRMED"
    assert at(client, code, (datetime.now(UTC) + timedelta(days=30)).isoformat()).json == current


def test_an_instant_with_an_offset_other_than_utc_means_the_same_instant(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = client.post("/v1/orders", json={}, headers=HEADERS).json["id"]
    oslo = datetime.now(timezone(timedelta(hours=1))).isoformat()
    assert at(client, code, oslo).json["id"] == code
    unescaped_plus = oslo.replace("+", " ")  # what an unencoded "+" in a query string becomes
    assert at(client, code, unescaped_plus).status_code == 200


def test_before_the_order_existed_is_version_not_found(client: FlaskClient, catalogue: Catalogue) -> None:
    before = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    code = client.post("/v1/orders", json={}, headers=HEADERS).json["id"]
    assert_problem(at(client, code, before), 404, "VERSION_NOT_FOUND")


def test_a_malformed_instant_or_one_without_an_offset_or_with_version_is_refused(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = client.post("/v1/orders", json={}, headers=HEADERS).json["id"]
    for bad in ("yesterday", "2026-11-22T10:00:00", "2026-11-22", "2026-13-01T00:00:00Z", ""):
        assert_problem(at(client, code, bad), 400, "VALIDATION_FAILED", "at")
    assert_problem(at(client, code, instant(), version=1), 400, "VALIDATION_FAILED", "at")


def test_another_organisations_order_is_not_found_at_any_instant(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = client.post("/v1/orders", json={}, headers=HEADERS).json["id"]
    assert_problem(at(client, code, instant(), OTHER_ORGANISATION), 404, "ORDER_NOT_FOUND")
    assert_problem(changes(client, code, OTHER_ORGANISATION, **{"from": 1, "to": 2}), 404, "ORDER_NOT_FOUND")


def test_a_cheaper_replacement_shows_as_lines_fee_credit_seats_and_totals(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)  # 899.00, change fee 50.00, one seat held
    version_1 = get_order(client, code)
    answer = update(client, code, replacing(line, BERGEN_MINIPRIS_OFFER), refundPriceDifference=True)
    assert answer.status_code == 200, answer.json
    (new_line,) = answer.json["orderLineIds"]
    version_2 = get_order(client, code)

    response = changes(client, code, **{"from": 1, "to": 2})
    assert response.status_code == 200, response.json
    diff = response.json
    assert (diff["orderId"], diff["from"], diff["to"]) == (code, 1, 2)
    assert [added["id"] for added in diff["linesAdded"]] == [new_line]
    assert diff["linesAdded"][0] == next(x for x in version_2["orderLines"] if x["id"] == new_line)
    assert diff["linesReplaced"] == [{"originalOrderLineIds": [line], "replacedByOrderLineIds": [new_line]}]
    assert diff["linesCancelled"] == [] and diff["supplementsAdded"] == [] and diff["feesRemoved"] == []
    assert [(fee["type"], fee["price"]["amount"]) for fee in diff["feesAdded"]] == [("CHANGE", "50.00")]
    assert [(ref["status"], ref["amount"]) for ref in diff["paymentRefs"]] == [("CREDITED", "350.00")]
    assert diff["seatsReleased"] == [r["id"] for r in version_1["reservations"]]
    assert diff["seatsHeld"] == [r["id"] for r in version_2["reservations"]]
    assert diff["totalsBefore"] == {"totalAmount": "899.00", "totalTaxAmount": version_1["totalTaxAmount"],
                                    "balance": "0.00"}
    assert diff["totalsAfter"] == {"totalAmount": "549.00", "totalTaxAmount": version_2["totalTaxAmount"],
                                   "balance": "0.00"}


def test_changes_up_to_the_current_draft_show_supplements_and_the_balance_to_pay(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, TRONDHEIM_OFFER)  # 649.00
    assert add_supplements(client, code, bicycle(line, count=2)).status_code == 200
    diff = changes(client, code, **{"from": 1, "to": 2}).json
    two_bicycles = {"amount": "300.00", "currency": "NOK", "taxAmount": "32.14"}
    assert diff["supplementsAdded"] == [{"orderLineId": line, "selectableId": "bike1", "count": 2,
                                         "price": two_bicycles}]
    assert diff["linesAdded"] == [] and diff["paymentRefs"] == []
    assert (diff["totalsBefore"]["totalAmount"], diff["totalsAfter"]["totalAmount"]) == ("649.00", "949.00")
    assert diff["totalsAfter"]["balance"] == "300.00"
    pay_in_full(client, code)
    paid = changes(client, code, **{"from": 1, "to": 2}).json
    assert [ref["status"] for ref in paid["paymentRefs"]] == ["CAPTURED"]
    assert paid["totalsAfter"]["balance"] == "0.00"


def test_changes_need_two_ordered_versions_that_exist(client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, TRONDHEIM_OFFER)
    assert add_supplements(client, code, bicycle(line)).status_code == 200  # version 2, a draft
    for query in ({"from": 1}, {"to": 2}, {"from": 2, "to": 1}, {"from": 1, "to": 1}, {"from": "x", "to": 2},
                  {"from": 0, "to": 2}):
        assert changes(client, code, **query).status_code == 400, query
    assert_problem(changes(client, code, **{"from": 1, "to": 3}), 404, "VERSION_NOT_FOUND")
    assert_problem(changes(client, code, **{"from": 2, "to": 3}), 404, "VERSION_NOT_FOUND")
    assert_problem(changes(client, code, **{"from": 1, "to": 2, "at": "x"}), 400, "VALIDATION_FAILED")


def test_the_openapi_document_describes_time_travel_and_changes(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    order_parameters = {p["name"]: p for p in spec["paths"]["/v1/orders/{order_id}"]["get"]["parameters"]}
    assert "VERSION_NOT_FOUND" in order_parameters["at"]["description"]
    changes_get = spec["paths"]["/v1/orders/{order_id}/changes"]["get"]
    assert {p["name"] for p in changes_get["parameters"]} >= {"from", "to"}
    assert "200" in changes_get["responses"] and "404" in changes_get["responses"]


def test_the_audit_command_prints_the_changes_between_versions(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    register_commands(flask_app)
    code, line = sold(client, BERGEN_OFFER)
    update(client, code, replacing(line, BERGEN_MINIPRIS_OFFER), refundPriceDifference=True)
    runner = flask_app.test_cli_runner()
    printed = runner.invoke(args=["audit", code, "--changes", "1..2"])
    assert printed.exit_code == 0, printed.output
    assert f"lines {line} replaced by" in printed.output
    assert "+ fee CHANGE 50.00 NOK" in printed.output and "$ credited 350.00 NOK" in printed.output
    assert "totals after: total 549.00, tax" in printed.output
    as_json = runner.invoke(args=["audit", code, "--changes", "1..2", "--json"])
    assert json.loads(as_json.output) == changes(client, code, **{"from": 1, "to": 2}).json
    assert runner.invoke(args=["audit", code, "--changes", "2..1"]).exit_code == 2
    missing = runner.invoke(args=["audit", code, "--changes", "1..5"])
    assert missing.exit_code == 1 and "no confirmed version 5" in missing.output


def test_a_refund_shows_as_a_cancelled_line_its_fee_the_credit_and_the_seat_given_back(
        client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (_, refunded) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    version_1 = get_order(client, code)
    [option] = [o["id"] for o in options(client, code, orderLineIds=refunded).json["options"]]
    assert refund(client, code, 1, option).status_code == 200
    diff = changes(client, code, **{"from": 1, "to": 2}).json
    assert diff["linesCancelled"] == [refunded] and diff["linesAdded"] == [] and diff["linesReplaced"] == []
    assert [(f["type"], f["price"]["amount"]) for f in diff["feesAdded"]] == [("REFUNDING", "100.00")]
    assert [(ref["status"], ref["amount"]) for ref in diff["paymentRefs"]] == [("CREDITED", "799.00")]
    refunded_seats = [r["id"] for r in version_1["reservations"] if r["orderLineId"] == refunded]
    assert diff["seatsReleased"] == refunded_seats
    assert diff["seatsHeld"] == []
    assert (diff["totalsBefore"]["totalAmount"], diff["totalsAfter"]["totalAmount"]) == ("1798.00", "999.00")


def test_a_cancellation_and_a_later_fee_show_up_to_the_current_draft(
        client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (_, gone) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    assert cancel(client, code, gone).status_code == 200
    assert client.post(f"/v1/orders/{code}/confirm", headers=HEADERS).status_code == 200  # version 2
    assert add_fee(client, code).status_code == 201  # version 3, a draft
    diff = changes(client, code, **{"from": 1, "to": 3}).json
    assert diff["linesCancelled"] == [gone]
    assert [(f["type"], f["orderLineIds"]) for f in diff["feesAdded"]] == [("MANUAL", [gone]),
                                                                          ("ONBOARD", [])]
    assert diff["totalsAfter"] == {**diff["totalsAfter"], "totalAmount": "1848.00", "balance": "50.00"}
    assert len(diff["seatsReleased"]) == 1 and diff["paymentRefs"] == []
    later = changes(client, code, **{"from": 2, "to": 3}).json
    assert later["linesCancelled"] == [] and [f["type"] for f in later["feesAdded"]] == ["ONBOARD"]


def test_the_orders_own_times_and_its_events_times_are_instants_it_can_be_read_at(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    current = get_order(client, code)
    created = at(client, code, current["createdAt"]).json
    assert (created["version"], created["status"], created["orderLines"]) == (1, "DRAFT", [])
    assert at(client, code, current["lastConfirmedAt"]).json == current
    trail = client.get(f"/v1/orders/{code}/events", headers=HEADERS).json["events"]
    lines_added = next(e["occurredAt"] for e in trail if e["type"] == "OrderLineAdded")
    reserving = at(client, code, lines_added).json
    assert (reserving["status"], len(reserving["orderLines"]), reserving["balance"]) == ("DRAFT", 1, "899.00")
    locked = at(client, code, next(e["occurredAt"] for e in trail if e["type"] == "OrderLocked")).json
    assert locked["locked"] and locked["status"] == "DRAFT"
