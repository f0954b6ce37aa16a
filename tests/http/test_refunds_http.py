"""Fees, cancelled lines and refunds over HTTP (contract section 6), on both backends.

Every figure is summed by hand from the demo catalogue: Oslo S - Bergen 899.00 (tax 96.32),
refundable with a refund fee of 100.00 (tax 10.71); Oslo S - Trondheim non-refundable.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_OFFER, DRAMMEN_OFFER, TRAVELLERS, TRONDHEIM_OFFER
from tests.conftest import FakeClock, auth_headers
from tests.http.test_after_sales_http import replacing, sold, update
from tests.http.test_external_confirmation_http import paid_and_waiting
from tests.http.test_orders_http import assert_problem
from tests.http.test_sales_http import (
    HEADERS,
    Catalogue,
    availability,
    events_recorded,
    get_order,
    offer,
    pay_in_full,
    reserved,
    seats,
    start_payment,
    trail_types,
)

FEE = {"type": "ONBOARD", "price": {"amount": "50.00", "currency": "NOK", "taxAmount": "5.36"},
       "reason": "Ticket bought on board"}


def add_fee(client: FlaskClient, code: str, **override: Any) -> Any:
    return client.post(f"/v1/orders/{code}/fees", json={**FEE, **override}, headers=HEADERS)


def remove_fee(client: FlaskClient, code: str, fee_id: str) -> Any:
    return client.delete(f"/v1/orders/{code}/fees/{fee_id}", headers=HEADERS)


def cancel(client: FlaskClient, code: str, *line_ids: str) -> Any:
    return client.post(f"/v1/orders/{code}/orderlines/cancel", headers=HEADERS,
                       json={"orderLineIds": list(line_ids), "reason": "Traveller fell ill"})


def options(client: FlaskClient, code: str, **query: str) -> Any:
    return client.get(f"/v1/refunds/options/{code}", query_string=query, headers=HEADERS)


def refund(client: FlaskClient, code: str, version: int, *option_ids: str, dry_run: bool = False) -> Any:
    return client.post(f"/v1/refunds/{code}", headers=HEADERS,
                       json={"orderVersion": version, "refundOptionIds": list(option_ids), "dryRun": dry_run})


def option_ids(client: FlaskClient, code: str) -> list[str]:
    answer = options(client, code)
    assert answer.status_code == 200, answer.json
    return [option["id"] for option in answer.json["options"]]


def money(order: dict[str, Any]) -> tuple[int, str, str, str]:
    return order["version"], order["status"], order["totalAmount"], order["balance"]


# ------------------------------------------------------------------------------------------ fees

def test_a_fee_on_a_confirmed_order_opens_version_2_and_is_paid_like_a_line(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    response = add_fee(client, code, orderLineIds=[line], orderVersion=1, externalReference="onboard-7")
    assert response.status_code == 201, response.json
    fee = response.json
    assert response.headers["Location"].endswith(f"/v1/orders/{code}/fees/{fee['id']}")
    assert (fee["type"], fee["price"]["amount"], fee["orderLineIds"], fee["version"]) == (
        "ONBOARD", "50.00", [line], 2)
    assert fee["externalReference"] == "onboard-7" and fee["reason"] == "Ticket bought on board"
    order = get_order(client, code)
    assert money(order) == (2, "DRAFT", "949.00", "50.00")
    assert order["totalTaxAmount"] == "101.68"  # 96.32 + 5.36
    pay_in_full(client, code)
    assert money(get_order(client, code)) == (2, "CONFIRMED", "949.00", "0.00")
    assert "FeeAdded" in trail_types(client, code)


def test_a_reduction_counts_negatively_and_may_not_bring_the_total_below_zero(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    reduction = {"amount": "99.00", "currency": "NOK", "taxAmount": "0.00"}
    assert add_fee(client, code, type="REDUCTION", price=reduction).status_code == 201
    assert money(get_order(client, code)) == (1, "DRAFT", "800.00", "800.00")
    before = events_recorded(client.application)
    too_much = {"amount": "800.01", "currency": "NOK", "taxAmount": "0.00"}
    assert_problem(add_fee(client, code, type="REDUCTION", price=too_much), 400, "VALIDATION_FAILED",
                   "price.amount")
    assert events_recorded(client.application) == before


def test_fee_requests_are_checked_field_by_field(client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    before = events_recorded(client.application)
    for service_type in ("CHANGE", "CHANGE_NON_REFUNDABLE", "REFUNDING", "SURCHARGE"):
        assert_problem(add_fee(client, code, type=service_type), 400, "VALIDATION_FAILED", "type")
    no_reason = {key: value for key, value in FEE.items() if key != "reason"}
    response = client.post(f"/v1/orders/{code}/fees", json=no_reason, headers=HEADERS)
    assert_problem(response, 400, "VALIDATION_FAILED", "reason")
    assert_problem(add_fee(client, code, orderLineIds=["not-a-line"]), 400, "VALIDATION_FAILED",
                   "orderLineIds")
    assert_problem(add_fee(client, code, price={**FEE["price"], "amount": 50}), 400, "VALIDATION_FAILED",
                   "price.amount")
    assert_problem(add_fee(client, code, price={**FEE["price"], "currency": "SEK"}), 400,
                   "VALIDATION_FAILED", "price.currency")
    assert_problem(add_fee(client, code, orderVersion=2), 409, "VERSION_MISMATCH")
    assert_problem(add_fee(client, "AAAAAAAA"), 404, "ORDER_NOT_FOUND")
    other = {**HEADERS, **auth_headers(2)}
    assert_problem(client.post(f"/v1/orders/{code}/fees", json=FEE, headers=other), 404, "ORDER_NOT_FOUND")
    assert events_recorded(client.application) == before
    assert money(get_order(client, code)) == (1, "CONFIRMED", "899.00", "0.00")


def test_only_an_unconfirmed_fee_the_client_added_can_be_removed(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    first = add_fee(client, code).json["id"]
    second = add_fee(client, code, type="PENALTY").json["id"]
    removed = remove_fee(client, code, second)
    assert removed.status_code == 200, removed.json
    assert [fee["id"] for fee in removed.json["fees"]] == [first]
    assert money(removed.json) == (2, "DRAFT", "949.00", "50.00")
    assert_problem(remove_fee(client, code, second), 404, "FEE_NOT_FOUND")
    pay_in_full(client, code)
    assert_problem(remove_fee(client, code, first), 409, "FEE_CONFIRMED")
    # A fee the service added (a change fee) goes only with a reset of its change.
    update(client, code, replacing(line, BERGEN_OFFER))
    change_fee = next(fee for fee in get_order(client, code)["fees"] if fee["type"] == "CHANGE")
    assert_problem(remove_fee(client, code, change_fee["id"]), 409, "CHANGE_NOT_ALLOWED")


def test_reset_and_expiry_scrap_unconfirmed_fees(client: FlaskClient, catalogue: Catalogue,
                                                 flask_app: Flask, clock: FakeClock) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    add_fee(client, code)
    assert client.post(f"/v1/orders/{code}/reset", headers=HEADERS).status_code == 200
    order = get_order(client, code)
    assert money(order) == (1, "CONFIRMED", "899.00", "0.00") and order["fees"] == []
    add_fee(client, code)
    application: OrderingApplication = flask_app.extensions["ordering"].application()
    assert application.expire_order(code, clock.advance(minutes=21))
    order = get_order(client, code)
    assert money(order) == (1, "CONFIRMED", "899.00", "0.00") and order["fees"] == []


# -------------------------------------------------------------------------------- cancellations

def test_cancelling_a_confirmed_line_keeps_its_price_as_a_manual_fee_and_frees_its_seat(
        client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (kept, cancelled) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    assert availability(client) == seats(2)
    response = cancel(client, code, cancelled)
    assert response.status_code == 200, response.json
    order = response.json
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED", "CANCELLED"]
    [fee] = order["fees"]
    assert (fee["type"], fee["price"], fee["orderLineIds"], fee["reason"]) == (
        "MANUAL", {"amount": "899.00", "currency": "NOK", "taxAmount": "96.32"}, [cancelled],
        "Traveller fell ill")
    assert money(order) == (2, "DRAFT", "1798.00", "0.00")  # nothing is returned
    assert availability(client) == seats(2)  # until the order is confirmed
    assert_problem(remove_fee(client, code, fee["id"]), 409, "CHANGE_NOT_ALLOWED")
    confirmed = client.post(f"/v1/orders/{code}/confirm", headers=HEADERS)
    assert confirmed.status_code == 200, confirmed.json
    assert money(confirmed.json) == (2, "CONFIRMED", "1798.00", "0.00")
    assert availability(client) == seats(1)
    assert [r["orderLineId"] for r in confirmed.json["reservations"]] == [kept]


def test_a_line_never_confirmed_is_cancelled_free_and_its_seat_goes_back_at_confirmation(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    added = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[1:2]), order_id=code)
    assert money(get_order(client, code)) == (2, "DRAFT", "1798.00", "899.00")
    order = cancel(client, code, added["orderLineIds"][0]).json
    assert order["fees"] == [] and money(order) == (2, "DRAFT", "899.00", "0.00")
    assert client.post(f"/v1/orders/{code}/confirm", headers=HEADERS).status_code == 200
    assert availability(client) == seats(1)


def test_a_cancellation_is_refused_whole_for_a_line_that_is_not_active(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    before = events_recorded(client.application)
    assert_problem(cancel(client, code, line, "no-such-line"), 400, "VALIDATION_FAILED", "orderLineIds")
    response = client.post(f"/v1/orders/{code}/orderlines/cancel", json={"orderLineIds": []}, headers=HEADERS)
    assert_problem(response, 400, "VALIDATION_FAILED", "orderLineIds")
    assert events_recorded(client.application) == before
    cancel(client, code, line)
    assert_problem(cancel(client, code, line), 400, "VALIDATION_FAILED", "orderLineIds")


def test_a_reset_gives_a_cancelled_line_back(client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    cancel(client, code, line)
    reset = client.post(f"/v1/orders/{code}/reset", headers=HEADERS).json
    assert [x["status"] for x in reset["orderLines"]] == ["CONFIRMED"] and reset["fees"] == []
    assert availability(client) == seats(1)


# ------------------------------------------------------------------------------------- refunds

def test_refund_options_quote_each_refundable_confirmed_line_net_of_its_fee(
        client: FlaskClient, catalogue: Catalogue, clock: FakeClock) -> None:
    code, bergen = sold(client, BERGEN_OFFER)
    trondheim = reserved(client, offer(TRONDHEIM_OFFER, selectedTravellerIds=TRAVELLERS[:1]),
                         order_id=code)["orderLineIds"][0]
    assert_problem(options(client, code), 409, "ORDER_NOT_CONFIRMED")  # version 2 is a draft
    change_options = client.get(f"/v1/change-options?orderId={code}", headers=HEADERS).json
    bergen_options = change_options["orderLineOptions"][0]["options"]
    refund_of_bergen = next(o for o in bergen_options if o["type"] == "REFUND")
    assert (refund_of_bergen["allowed"], refund_of_bergen["reason"]) == (False, "NOT_CONFIRMED")
    pay_in_full(client, code)
    answer = options(client, code)
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["orderRef"] == {"id": code, "version": 2}
    [option] = body["options"]  # the Trondheim line is not refundable
    assert (option["orderLineIds"], option["refundAmount"], option["fee"], option["currency"]) == (
        [bergen], "799.00", "100.00", "NOK")
    assert option["expiresAt"] == (clock() + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    assert body["optionIdsThatCanBePerformedTogether"] == [[option["id"]]]
    assert options(client, code, orderLineIds=trondheim).json["options"] == []
    assert_problem(options(client, code, orderLineIds=f"{bergen},nope"), 400, "VALIDATION_FAILED",
                   "orderLineIds")
    assert_problem(options(client, "AAAAAAAA"), 404, "ORDER_NOT_FOUND")


def test_a_refund_cancels_the_line_keeps_its_fee_credits_the_rest_and_confirms_version_2(
        client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (kept, refunded) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    [option] = [o["id"] for o in options(client, code, orderLineIds=refunded).json["options"]]
    before = events_recorded(client.application)
    dry = refund(client, code, 1, option, dry_run=True)
    assert dry.status_code == 200, dry.json
    assert events_recorded(client.application) == before  # a dry run stores nothing
    assert money(get_order(client, code)) == (1, "CONFIRMED", "1798.00", "0.00")
    done = refund(client, code, 1, option)
    assert done.status_code == 200, done.json
    result = done.json
    assert {k: v for k, v in result.items() if k not in ("creditId", "fees")} == {
        k: v for k, v in dry.json.items() if k not in ("creditId", "fees")}
    assert dry.json["creditId"] is None and result["creditId"]
    assert (result["orderId"], result["orderVersion"], result["totalRefundAmount"], result["currency"],
            result["affectedOrderLineIds"]) == (code, 2, "799.00", "NOK", [refunded])
    [fee] = result["fees"]
    assert (fee["type"], fee["price"]["amount"], fee["price"]["taxAmount"], fee["orderLineIds"],
            fee["version"]) == ("REFUNDING", "100.00", "10.71", [refunded], 2)
    assert [(f["type"], f["price"]["amount"]) for f in dry.json["fees"]] == [("REFUNDING", "100.00")]
    order = get_order(client, code)
    assert money(order) == (2, "CONFIRMED", "999.00", "0.00")  # 899 kept + 100 fee
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED", "CANCELLED"]
    credited = [ref for ref in order["paymentRefs"] if ref["status"] == "CREDITED"]
    assert [(ref["creditId"], ref["amount"], ref["paymentId"]) for ref in credited] == [
        (result["creditId"], "799.00", None)]
    assert availability(client) == seats(1)
    assert [r["orderLineId"] for r in order["reservations"]] == [kept]
    credit = client.get(f"/v1/credits/{result['creditId']}", headers=HEADERS).json
    assert (credit["amount"], credit["orderVersion"], credit["status"]) == ("799.00", 2, "CREDITED")
    assert get_order(client, code, version=1)["orderLines"][1]["status"] == "CONFIRMED"
    assert trail_types(client, code)[-3:] == ["OrderLinesRefunded", "PaymentCredited", "OrderConfirmed"]


def test_refunding_every_line_leaves_only_the_refund_fees(client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    assert refund(client, code, 1, *option_ids(client, code)).status_code == 200
    order = get_order(client, code)
    assert money(order) == (2, "CONFIRMED", "100.00", "0.00") and availability(client) == seats(0)


def test_stale_unknown_and_expired_refunds_change_nothing(
        client: FlaskClient, catalogue: Catalogue, clock: FakeClock) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    other_code, _ = sold(client, BERGEN_OFFER, TRAVELLERS[1:2])
    [option] = option_ids(client, code)
    before = events_recorded(client.application)
    assert_problem(refund(client, code, 2, option), 409, "VERSION_MISMATCH")
    assert_problem(refund(client, code, 1, "b0a1e6f2-0000-4c1a-9e55-000000000000"), 404,
                   "REFUND_OPTION_NOT_FOUND")
    assert_problem(refund(client, code, 1, "not-a-uuid"), 404, "REFUND_OPTION_NOT_FOUND")
    assert_problem(refund(client, other_code, 1, option), 404, "REFUND_OPTION_NOT_FOUND")
    stranger = {**HEADERS, **auth_headers(2)}
    response = client.post(f"/v1/refunds/{code}", headers=stranger,
                           json={"orderVersion": 1, "refundOptionIds": [option]})
    assert_problem(response, 404, "ORDER_NOT_FOUND")
    assert events_recorded(client.application) == before
    clock.advance(minutes=16)
    assert_problem(refund(client, code, 1, option), 409, "REFUND_OPTION_EXPIRED")
    assert money(get_order(client, code)) == (1, "CONFIRMED", "899.00", "0.00")


def test_options_of_two_quotes_for_one_line_cannot_be_performed_together(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    [first], [second] = option_ids(client, code), option_ids(client, code)
    assert first != second
    before = events_recorded(client.application)
    assert_problem(refund(client, code, 1, first, second), 400, "VALIDATION_FAILED", "refundOptionIds")
    assert events_recorded(client.application) == before
    assert refund(client, code, 1, second).status_code == 200


def test_never_more_is_credited_than_was_captured(client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)  # 899.00 captured
    free = {"amount": "899.00", "currency": "NOK", "taxAmount": "0.00"}
    assert add_fee(client, code, type="REDUCTION", price=free).status_code == 201
    paid_back = client.post("/v1/credits", headers=HEADERS, json={
        "orderId": code, "orderVersion": 2, "amount": "899.00", "reason": "goodwill"})
    assert paid_back.status_code == 201, paid_back.json  # nothing left captured and not credited
    [option] = option_ids(client, code)
    before = events_recorded(client.application)
    assert_problem(refund(client, code, 2, option, dry_run=True), 409, "REFUND_EXCEEDS_PAID")
    assert_problem(refund(client, code, 2, option), 409, "REFUND_EXCEEDS_PAID")
    assert events_recorded(client.application) == before
    assert money(get_order(client, code)) == (2, "CONFIRMED", "0.00", "0.00")


def test_a_locked_or_draft_order_has_no_refund_options(client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    [option] = option_ids(client, code)
    add_fee(client, code)
    assert_problem(options(client, code), 409, "ORDER_NOT_CONFIRMED")
    assert start_payment(client, code).status_code == 201  # locks the order
    assert_problem(options(client, code), 409, "ORDER_LOCKED")
    assert_problem(refund(client, code, 2, option), 409, "ORDER_LOCKED")


def test_a_failed_order_is_made_whole_by_refunding_its_failed_line_in_full(
        client: FlaskClient, confirmed_by_others: str) -> None:
    code, line = paid_and_waiting(client, confirmed_by_others)  # Drammen, 129.00, not refundable
    failed = client.post(f"/v1/orders/{code}/fail", json={}, headers=HEADERS)
    assert failed.status_code == 200 and failed.json["failed"] is True, failed.json
    [option] = options(client, code).json["options"]
    assert (option["orderLineIds"], option["refundAmount"], option["fee"]) == ([line], "129.00", "0.00")
    result = refund(client, code, 1, option["id"]).json
    assert (result["totalRefundAmount"], result["fees"], result["orderVersion"]) == ("129.00", [], 2)
    order = get_order(client, code)
    assert money(order) == (2, "CONFIRMED", "0.00", "0.00") and order["failed"] is False
    assert get_order(client, code, version=1)["failed"] is True


def test_a_line_that_is_not_refundable_has_no_option(client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, DRAMMEN_OFFER)
    body = options(client, code).json
    assert body["options"] == [] and body["optionIdsThatCanBePerformedTogether"] == []
