"""Changing a sold order over HTTP (contract section 6): update-order and credits, both backends."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ordering.demo_catalogue import (
    BERGEN_DEPARTURE,
    BERGEN_MINIPRIS_OFFER,
    BERGEN_OFFER,
    BERGEN_PREMIUM_OFFER,
    DRAMMEN_OFFER,
    LILLEHAMMER_GROUP_OFFER,
    TRAVELLERS,
    TRONDHEIM_OFFER,
)
from tests.conftest import auth_headers
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
    set_seats,
    trail_types,
)

ONE = TRAVELLERS[:1]


def sold(client: FlaskClient, offer_id: str, travellers: list[str] = ONE) -> tuple[str, str]:
    """A confirmed order of one line: (order id, line id)."""
    answer = reserved(client, offer(offer_id, selectedTravellerIds=travellers))
    pay_in_full(client, answer["orderId"])
    assert get_order(client, answer["orderId"])["status"] == "CONFIRMED"
    return answer["orderId"], answer["orderLineIds"][0]


def update(client: FlaskClient, code: str, *configurations: dict[str, Any], **extra: Any) -> Any:
    return client.post("/v1/update-order", headers=HEADERS,
                       json={"orderId": code, "offerConfigurations": list(configurations), **extra})


def replacing(line_id: str, offer_id: str, travellers: list[str] = ONE, **extra: Any) -> dict[str, Any]:
    return {"orderLineId": line_id, "offerId": offer_id, "selectedTravellerIds": travellers, **extra}


def fees(order: dict[str, Any]) -> list[tuple[str, str]]:
    return [(fee["type"], fee["price"]["amount"]) for fee in order["fees"]]


def test_a_dearer_replacement_opens_version_2_with_a_change_fee_and_the_difference_to_pay(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_MINIPRIS_OFFER)
    response = update(client, code, replacing(line, BERGEN_PREMIUM_OFFER))
    assert response.status_code == 200, response.json
    new = response.json["orderLineIds"]
    assert response.json["replacedByOrderLineIds"] == [{"originalOrderLineIds": [line],
                                                        "replacedByOrderLineIds": new}]
    order = get_order(client, code)
    assert (order["version"], order["status"]) == (2, "DRAFT")
    old, replacement = order["orderLines"]
    assert (old["status"], old["replacedByOrderLineIds"]) == ("REPLACED", new)
    assert (replacement["status"], replacement["replacesOrderLineIds"], replacement["version"]) == (
        "DRAFT", [line], 2)
    assert fees(order) == [("CHANGE", "50.00")] and order["fees"][0]["orderLineIds"] == [line]
    assert (order["totalAmount"], order["balance"]) == ("1349.00", "850.00")  # 1299 + 50 - 499
    pay_in_full(client, code)
    confirmed = get_order(client, code)
    assert (confirmed["version"], confirmed["status"], confirmed["balance"]) == (2, "CONFIRMED", "0.00")
    assert [line["status"] for line in confirmed["orderLines"]] == ["REPLACED", "CONFIRMED"]
    assert get_order(client, code, version=1)["orderLines"][0]["status"] == "CONFIRMED"
    assert "OrderLinesReplaced" in trail_types(client, code)


def test_a_cheaper_non_refundable_line_keeps_the_difference_as_a_fee(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_MINIPRIS_OFFER)  # 499.00, not refundable, change fee 50.00
    assert catalogue[DRAMMEN_OFFER]["price"]["amount"] == "129.00"
    assert update(client, code, replacing(line, DRAMMEN_OFFER)).status_code == 200
    order = get_order(client, code)
    assert fees(order) == [("CHANGE", "50.00"), ("CHANGE_NON_REFUNDABLE", "370.00")]
    assert order["fees"][1]["price"]["taxAmount"] == "39.64"  # 53.46 - 13.82
    assert (order["totalAmount"], order["balance"]) == ("549.00", "50.00")  # 129 + 50 + 370 - 499


def test_the_new_lines_carry_exactly_the_travellers_of_the_replaced_ones(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_MINIPRIS_OFFER)
    response = update(client, code, replacing(line, LILLEHAMMER_GROUP_OFFER, TRAVELLERS[:2]))
    assert_problem(response, 400, "VALIDATION_FAILED", "offerConfigurations.0.selectedTravellerIds")
    assert get_order(client, code)["version"] == 1


def test_a_cheaper_refundable_line_is_credited_at_once_when_asked_and_its_seat_freed(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)  # 899.00 refundable, change fee 50.00, holds a seat
    assert availability(client) == seats(1)
    response = update(client, code, replacing(line, BERGEN_MINIPRIS_OFFER), refundPriceDifference=True)
    assert response.status_code == 200, response.json
    order = get_order(client, code)
    assert (order["version"], order["status"], order["balance"]) == (2, "CONFIRMED", "0.00")
    assert (order["totalAmount"], fees(order)) == ("549.00", [("CHANGE", "50.00")])
    credit = order["paymentRefs"][-1]
    assert (credit["status"], credit["amount"], credit["paymentId"]) == ("CREDITED", "350.00", None)
    answer = client.get(f"/v1/credits/{credit['creditId']}", headers=HEADERS)
    assert answer.status_code == 200 and (answer.json["amount"], answer.json["orderVersion"]) == ("350.00", 2)
    assert availability(client) == seats(0)  # the replaced line's seat went with the confirmation
    assert order["reservations"] == []


def test_without_refund_price_difference_the_client_credits_the_negative_balance(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    assert update(client, code, replacing(line, BERGEN_MINIPRIS_OFFER)).status_code == 200
    order = get_order(client, code)
    assert (order["status"], order["balance"]) == ("DRAFT", "-350.00")

    def credit(**body: Any) -> Any:
        full = {"orderId": code, "orderVersion": 2, "amount": "350.00", "reason": "cheaper train", **body}
        return client.post("/v1/credits", json=full, headers=HEADERS)

    assert_problem(credit(amount="300.00"), 400, "VALIDATION_FAILED", "amount")
    assert_problem(credit(orderVersion=1), 409, "VERSION_MISMATCH")
    assert_problem(credit(amount=350), 400, "VALIDATION_FAILED", "amount")
    created = credit()
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith(f"/v1/credits/{created.json['id']}")
    assert (created.json["status"], created.json["amount"]) == ("CREDITED", "350.00")
    confirmed = get_order(client, code)
    assert (confirmed["status"], confirmed["balance"], confirmed["version"]) == ("CONFIRMED", "0.00", 2)
    assert availability(client) == seats(0)
    assert_problem(credit(), 409, "ORDER_NOT_DRAFT")
    other = client.get(f"/v1/credits/{created.json['id']}", headers=auth_headers(organisation_id=2))
    assert_problem(other, 404, "CREDIT_NOT_FOUND")


def test_a_line_that_may_not_change_and_a_bad_request_change_nothing(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, DRAMMEN_OFFER)
    before = events_recorded(flask_app)
    assert_problem(update(client, code, replacing(line, BERGEN_OFFER)), 409, "CHANGE_NOT_ALLOWED")
    assert_problem(update(client, code, replacing("no-such-line", BERGEN_OFFER)), 400,
                   "VALIDATION_FAILED", "offerConfigurations.0")
    both = [replacing(line, BERGEN_OFFER, selectedOrderLineIds=[line]),
            replacing(line, BERGEN_OFFER, selectedOrderLineIds=[line, "x"])]
    assert_problem(update(client, code, *both), 400, "VALIDATION_FAILED",
                   "offerConfigurations.1.selectedOrderLineIds")
    no_headers = client.post("/v1/update-order", json={"orderId": code, "offerConfigurations": [
        replacing(line, BERGEN_OFFER)]}, headers={"Authorization": HEADERS["Authorization"]})
    assert_problem(no_headers, 400, "VALIDATION_FAILED", "Entur-POS")
    assert_problem(update(client, code, replacing(line, BERGEN_OFFER), refundPriceDifference="yes"), 400,
                   "VALIDATION_FAILED", "refundPriceDifference")
    assert events_recorded(flask_app) == before
    assert get_order(client, code)["version"] == 1


def test_reset_after_a_change_restores_the_replaced_line_with_its_seat_and_frees_the_new_one(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    response = update(client, code, replacing(line, BERGEN_OFFER))  # the same train, another seat
    assert response.status_code == 200
    assert availability(client) == seats(2)  # the replaced line keeps its seat until confirmed
    again = update(client, code, replacing(response.json["orderLineIds"][0], BERGEN_OFFER))
    assert_problem(again, 409, "CHANGE_NOT_ALLOWED")  # an unconfirmed replacement: reset first
    reset = client.post(f"/v1/orders/{code}/reset", headers=HEADERS).json
    assert (reset["version"], reset["status"], reset["fees"]) == (1, "CONFIRMED", [])
    assert [(x["id"], x["status"]) for x in reset["orderLines"]] == [(line, "CONFIRMED")]
    assert availability(client) == seats(1)


def test_one_line_becomes_many_and_many_become_one(client: FlaskClient, catalogue: Catalogue) -> None:
    group = reserved(client, offer(LILLEHAMMER_GROUP_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, group_line = group["orderId"], group["orderLineIds"][0]
    pay_in_full(client, code)
    split = update(client, code, replacing(group_line, BERGEN_OFFER, TRAVELLERS[:2]))
    assert split.status_code == 200, split.json
    assert len(split.json["orderLineIds"]) == 2 and availability(client) == seats(2)
    pay_in_full(client, code)
    first, second = split.json["orderLineIds"]
    joined = update(client, code, replacing(first, LILLEHAMMER_GROUP_OFFER, TRAVELLERS[:2],
                                            selectedOrderLineIds=[first, second]))
    assert joined.status_code == 200, joined.json
    assert joined.json["replacedByOrderLineIds"] == [
        {"originalOrderLineIds": [first, second], "replacedByOrderLineIds": joined.json["orderLineIds"]}]
    order = get_order(client, code)
    assert [x["status"] for x in order["orderLines"]] == ["REPLACED", "REPLACED", "REPLACED", "DRAFT"]
    assert fees(order).count(("CHANGE", "50.00")) == 2  # one per confirmed Bergen line replaced


def add_supplements(client: FlaskClient, code: str, *configurations: dict[str, Any]) -> Any:
    return client.post("/v1/update-order/supplement-products", headers=HEADERS,
                       json={"orderId": code, "offerConfigurations": list(configurations)})


def bicycle(line: str, count: int = 1, selectable_id: str = "bike1") -> dict[str, Any]:
    return {"orderLineId": line, "offerId": TRONDHEIM_OFFER,
            "selectedProductsConfiguration": [{"selectableId": selectable_id, "count": count}]}


def test_a_bicycle_added_after_the_sale_keeps_the_line_and_grows_its_price(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, TRONDHEIM_OFFER)  # 649.00
    response = add_supplements(client, code, bicycle(line, count=2))
    assert response.status_code == 200, response.json
    assert response.json == {"orderId": code, "orderLineIds": [line]}
    order = get_order(client, code)
    (changed,) = order["orderLines"]
    assert (changed["id"], changed["version"], changed["status"]) == (line, 2, "CONFIRMED")
    assert changed["price"] == {"amount": "949.00", "currency": "NOK", "taxAmount": "101.68"}
    assert changed["supplementProducts"] == [{
        "selectableId": "bike1", "name": "Bicycle", "supplementProductType": "BICYCLE", "count": 2,
        "price": {"amount": "300.00", "currency": "NOK", "taxAmount": "32.14"}}]
    assert (order["version"], order["status"], order["balance"]) == (2, "DRAFT", "300.00")
    assert "SupplementProductsAdded" in trail_types(client, code)
    pay_in_full(client, code)
    assert get_order(client, code, version=1)["orderLines"][0]["price"]["amount"] == "649.00"


def test_a_supplement_the_offer_lacks_or_a_count_out_of_range_is_refused(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, TRONDHEIM_OFFER)
    for count in (0, 10):
        assert_problem(add_supplements(client, code, bicycle(line, count)), 400, "VALIDATION_FAILED",
                       "offerConfigurations.0.selectedProductsConfiguration.0.count")
    assert_problem(add_supplements(client, code, bicycle(line, selectable_id="ski")), 400,
                   "VALIDATION_FAILED", "offerConfigurations.0.selectedProductsConfiguration.0.selectableId")
    wrong_offer = {**bicycle(line), "offerId": BERGEN_OFFER}
    assert_problem(add_supplements(client, code, wrong_offer), 400, "VALIDATION_FAILED",
                   "offerConfigurations.0.offerId")
    assert get_order(client, code)["version"] == 1


def test_change_options_tell_what_each_active_line_may_undergo_and_at_what_cost(
        client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    answer = client.get(f"/v1/change-options?orderId={code}", headers=HEADERS)
    assert answer.status_code == 200, answer.json
    (line,) = answer.json["orderLineOptions"]
    options = {o["type"]: o for o in line["options"]}
    assert (answer.json["orderVersion"], line["status"], list(options)) == (
        1, "CONFIRMED", ["REPLACE", "ADD_SUPPLEMENT", "REFUND", "CANCEL"])
    assert (options["REPLACE"]["allowed"], options["REPLACE"]["fee"]["amount"]) == (True, "50.00")
    supplement = options["ADD_SUPPLEMENT"]
    assert (supplement["allowed"], supplement["reason"]) == (False, "NO_SUPPLEMENTS")
    assert (options["REFUND"]["allowed"], options["REFUND"]["fee"]["amount"]) == (True, "100.00")
    assert (options["CANCEL"]["allowed"], options["CANCEL"]["fee"]["amount"]) == (True, "899.00")
    drammen, _ = sold(client, DRAMMEN_OFFER)
    (line,) = client.get(f"/v1/change-options?orderId={drammen}", headers=HEADERS).json["orderLineOptions"]
    reasons = {o["type"]: o.get("reason") for o in line["options"]}
    assert (reasons["REPLACE"], reasons["REFUND"]) == ("NOT_CHANGEABLE", "NOT_REFUNDABLE")
    assert_problem(client.get("/v1/change-options?orderId=ZZZZZZZZ", headers=HEADERS), 404, "ORDER_NOT_FOUND")
    assert_problem(client.get("/v1/change-options", headers=HEADERS), 400, "VALIDATION_FAILED", "orderId")


def test_a_replacement_without_seats_changes_nothing(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    assert set_seats(client, BERGEN_DEPARTURE, {"seats": 1}).status_code == 200  # the one seat is sold
    before = events_recorded(flask_app)
    assert_problem(update(client, code, replacing(line, BERGEN_OFFER)), 409, "NO_AVAILABILITY")
    assert events_recorded(flask_app) == before
    assert (get_order(client, code)["version"], availability(client)) == (1, seats(1, capacity=1))
