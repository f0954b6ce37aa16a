"""Offers, seats, reserve-offers and payments over HTTP (Flask test client), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from copy import deepcopy
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.demo_catalogue import (
    BERGEN_DEPARTURE,
    BERGEN_OFFER,
    BERGEN_SEATS,
    DRAMMEN_OFFER,
    LILLEHAMMER_GROUP_OFFER,
    TRAVELLERS,
    TRONDHEIM_OFFER,
    demo_offers,
)
from tests.conftest import FakeClock, auth_headers
from tests.http.test_orders_http import assert_problem

HEADERS = auth_headers()
WRITER = auth_headers(permissions=("offers:write",))
OTHER_ORGANISATION = auth_headers(organisation_id=2)
FIRST = "offerConfigurations.0"
Catalogue = dict[str, dict[str, Any]]


# ----------------------------------------------------------------- helpers


def publish(client: FlaskClient, body: Any, headers: dict[str, str] = WRITER) -> Any:
    return client.post("/v1/offers", json=body, headers=headers)


def variant(original: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of an offer under a new id, with ``changes`` applied."""
    return {**deepcopy(original), "id": str(uuid.uuid4()), **changes}


def set_seats(client: FlaskClient, journey: str, body: Any, headers: dict[str, str] = WRITER) -> Any:
    return client.put(f"/v1/journeys/{journey}/capacity", json=body, headers=headers)


def availability(client: FlaskClient, journey: str = BERGEN_DEPARTURE) -> dict[str, int]:
    response = client.get(f"/v1/journeys/{journey}/availability", headers=HEADERS)
    assert response.status_code == 200, response.json
    return response.json


def seats(reserved: int, capacity: int = BERGEN_SEATS) -> dict[str, int]:
    return {"capacity": capacity, "reserved": reserved, "available": capacity - reserved}


def offer(offer_id: str, **extra: Any) -> dict[str, Any]:
    """One offer configuration: ``offer(BERGEN_OFFER, selectedTravellerIds=[...])``."""
    return {"offerId": offer_id, **extra}


def reserve(client: FlaskClient, *configurations: dict[str, Any], order_id: str | None = None,
            headers: dict[str, str] = HEADERS) -> Any:
    body: dict[str, Any] = {"offerConfigurations": list(configurations)}
    if order_id is not None:
        body["orderId"] = order_id
    return client.post("/v1/reserve-offers", json=body, headers=headers)


def reserved(client: FlaskClient, *configurations: dict[str, Any], order_id: str | None = None) -> Any:
    response = reserve(client, *configurations, order_id=order_id)
    assert response.status_code == 200, response.json
    return response.json


def get_order(client: FlaskClient, code: str, headers: dict[str, str] = HEADERS, **query: Any) -> Any:
    response = client.get(f"/v1/orders/{code}", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def trail_types(client: FlaskClient, code: str) -> list[str]:
    trail = client.get(f"/v1/orders/{code}/events", headers=HEADERS).json
    return [event["type"] for event in trail["events"]]


def start_payment(client: FlaskClient, code: str, headers: dict[str, str] = HEADERS, **override: Any) -> Any:
    """POST /v1/payments for the order's current version and balance, unless overridden."""
    order = get_order(client, code, headers)
    body = {"orderId": code, "orderVersion": order["version"], "amount": order["balance"],
            "currency": "NOK", "paymentType": "VISA", **override}
    return client.post("/v1/payments", json=body, headers=headers)


def payment_action(client: FlaskClient, payment_id: str, action: str,
                   headers: dict[str, str] = HEADERS) -> Any:
    return client.post(f"/v1/payments/{payment_id}/{action}", headers=headers)


def pay_in_full(client: FlaskClient, code: str) -> Any:
    """Creates and captures a payment of the whole balance; answers the captured payment."""
    created = start_payment(client, code)
    assert created.status_code == 201, created.json
    captured = payment_action(client, created.json["id"], "capture")
    assert captured.status_code == 200, captured.json
    return captured.json


def events_recorded(flask_app: Flask) -> int:
    """The id of the store's last recorded event: a refused or repeated request must not move it."""
    return flask_app.extensions["ordering"].application().recorder.max_notification_id() or 0


def assert_field_refused(response: Any, field: str) -> None:
    """400 naming ``field``; a field of the n-th offer in a list may carry the prefix ``n.``."""
    assert_problem(response, 400, "VALIDATION_FAILED")
    named = [e["field"] for e in response.json["errors"]]
    assert any(name == field or name.endswith(f".{field}") for name in named), (field, named)


@pytest.fixture
def pending(client: FlaskClient, catalogue: Catalogue) -> tuple[str, dict[str, Any]]:
    """An order with one Bergen line (899.00) and a created payment of it: (order id, payment)."""
    code = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    response = start_payment(client, code)
    assert response.status_code == 201, response.json
    return code, response.json


# ----------------------------------------------------------------- offers


def test_the_catalogue_lists_published_offers_and_answers_each_by_id(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    listed = client.get("/v1/offers", headers=HEADERS)
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json] == list(catalogue)
    one = client.get(f"/v1/offers/{TRONDHEIM_OFFER}", headers=HEADERS)
    assert one.status_code == 200
    assert one.json == catalogue[TRONDHEIM_OFFER]
    assert one.json["price"] == {"amount": "649.00", "currency": "NOK", "taxAmount": "69.54"}


def test_offers_are_published_one_or_a_list_at_a_time_with_offers_write(
    client: FlaskClient, clock: FakeClock
) -> None:
    bergen, trondheim, group, drammen, *_ = demo_offers(clock.now)
    assert_problem(publish(client, bergen, HEADERS), 403, "FORBIDDEN")
    single = publish(client, bergen)
    assert single.status_code == 201 and single.json == [bergen]
    without_id = {k: v for k, v in drammen.items() if k != "id"}
    several = publish(client, [trondheim, group, without_id])
    assert several.status_code == 201
    assert [o["id"] for o in several.json[:2]] == [TRONDHEIM_OFFER, LILLEHAMMER_GROUP_OFFER]
    generated = several.json[2]["id"]
    assert str(uuid.UUID(generated)) == generated
    listed = client.get("/v1/offers", headers=HEADERS).json
    assert [o["id"] for o in listed] == [BERGEN_OFFER, TRONDHEIM_OFFER, LILLEHAMMER_GROUP_OFFER, generated]


def test_a_bad_offer_gets_a_400_naming_the_field(client: FlaskClient, clock: FakeClock) -> None:
    good = demo_offers(clock.now)[0]
    price = good["price"]
    cases = [
        ({"price": {**price, "amount": 899}}, "price.amount"),
        ({"price": {**price, "amount": "899.000"}}, "price.amount"),
        ({"price": {**price, "amount": "-1.00"}}, "price.amount"),
        ({"price": {**price, "taxAmount": 96.32}}, "price.taxAmount"),
        ({"colour": "red"}, "colour"),
        ({"price": {**price, "discount": "1.00"}}, "price.discount"),
        ({"validUntil": "2026-11-28T10:00:00"}, "validUntil"),
        ({"id": "not-a-uuid"}, "id"),
    ]
    for change, field in cases:
        assert_field_refused(publish(client, {**good, **change}), field)
    for required in ("name", "validUntil", "salesPackageRef", "price", "travellerMapping"):
        assert_field_refused(publish(client, {k: v for k, v in good.items() if k != required}), required)
    assert_problem(publish(client, [good, good]), 400, "VALIDATION_FAILED", "id")
    assert client.get("/v1/offers", headers=HEADERS).json == []


def test_an_unknown_offer_answers_404_and_a_published_id_409(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    for offer_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert_problem(client.get(f"/v1/offers/{offer_id}", headers=HEADERS), 404, "OFFER_NOT_FOUND")
    again = variant(catalogue[DRAMMEN_OFFER], id=DRAMMEN_OFFER, name="Drammen again")
    assert_problem(publish(client, again), 409, "OFFER_EXISTS", "id")
    assert client.get(f"/v1/offers/{DRAMMEN_OFFER}", headers=HEADERS).json == catalogue[DRAMMEN_OFFER]


# ----------------------------------------------------------------- capacity and availability


def unknown_departure(client: FlaskClient, journey: str) -> None:
    response = client.get(f"/v1/journeys/{journey}/availability", headers=HEADERS)
    assert_problem(response, 404, "NOT_FOUND")


def test_setting_capacity_needs_offers_write_and_a_whole_number_of_seats(client: FlaskClient) -> None:
    journey = "NSB:DatedServiceJourney:test"
    unknown_departure(client, journey)
    assert_problem(set_seats(client, journey, {"seats": 300}, HEADERS), 403, "FORBIDDEN")
    for body in ({"seats": -1}, {"seats": "300"}, {"seats": 1.5}, {"seats": None}, {},
                 {"seats": 100_001}):
        assert_problem(set_seats(client, journey, body), 400, "VALIDATION_FAILED", "seats")
    assert_problem(set_seats(client, journey, {"seats": 3, "colour": "red"}), 400,
                   "VALIDATION_FAILED", "colour")
    unknown_departure(client, journey)
    response = set_seats(client, journey, {"seats": 300})
    assert response.status_code == 200 and response.json == seats(0, capacity=300)
    assert availability(client, journey) == seats(0, capacity=300)


# ----------------------------------------------------------------- reserving offers


def test_reserving_without_an_order_id_creates_a_draft_order_with_the_offers_lines(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    answer = reserved(client, offer(BERGEN_OFFER))
    order = get_order(client, answer["orderId"])
    assert (order["version"], order["status"], order["locked"]) == (1, "DRAFT", False)
    totals = (order["totalAmount"], order["totalTaxAmount"], order["balance"])
    assert totals == ("1798.00", "192.64", "1798.00")
    assert (order["createdAt"], order["expireAt"]) == ("2026-11-22T10:00:00Z", "2026-11-22T10:20:00Z")
    assert (order["pos"], order["organisationId"]) == ("Entur-APP", 1)
    lines = order["orderLines"]
    assert [line["id"] for line in lines] == answer["orderLineIds"]
    bergen = catalogue[BERGEN_OFFER]
    leg = {k: v for k, v in bergen["legs"][0].items() if k != "reservingRequirement"}
    for line, traveller in zip(lines, TRAVELLERS[:2], strict=True):
        assert (line["status"], line["version"], line["offerId"]) == ("DRAFT", 1, BERGEN_OFFER)
        assert line["salesPackageRef"] == bergen["salesPackageRef"]
        assert line["fareProducts"] == bergen["fareProducts"]
        assert line["price"] == bergen["price"]
        assert line["legs"] == [leg]
        assert line["travellerIds"] == [traveller]
    assert [t["id"] for t in order["travellers"]] == TRAVELLERS[:2]
    assert [r["id"] for r in order["reservations"]] == answer["reservationIds"]
    assert trail_types(client, order["id"]) == ["OrderCreated", "OrderLineAdded", "OrderLineAdded"]


def test_a_line_carries_the_after_sales_conditions_of_its_offer(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    bergen = get_order(client, reserved(client, offer(BERGEN_OFFER))["orderId"])["orderLines"][0]
    assert bergen["conditions"] == {
        "refundable": True, "changeable": True,
        "changeFee": {"amount": "50.00", "currency": "NOK", "taxAmount": "5.36"},
        "refundFee": {"amount": "100.00", "currency": "NOK", "taxAmount": "10.71"}}
    drammen = get_order(client, reserved(client, offer(DRAMMEN_OFFER))["orderId"])["orderLines"][0]
    assert drammen["conditions"] == {"refundable": False, "changeable": False, "changeFee": None,
                                     "refundFee": None}


def test_offers_take_entur_s_whole_reserving_vocabulary_and_nothing_else(
    client: FlaskClient, clock: FakeClock
) -> None:
    base = demo_offers(clock.now)[3]
    for requirement in ("NO_RESERVATIONS_POSSIBLE", "RESERVATIONS_RECOMMENDED", "NO_GROUPS_ALLOWED"):
        legs = [{**base["legs"][0], "reservingRequirement": requirement}]
        response = publish(client, {**base, "id": str(uuid.uuid4()), "legs": legs})
        assert response.status_code == 201, response.json
    refused = publish(client, {**base, "id": str(uuid.uuid4()),
                               "legs": [{**base["legs"][0], "reservingRequirement": "NO_RESERVATIONS"}]})
    assert_field_refused(refused, "reservingRequirement")
    bad_fee = publish(client, {**base, "id": str(uuid.uuid4()), "changeFee": {"amount": 5}})
    assert_field_refused(bad_fee, "changeFee.amount")


def test_reserving_into_an_existing_order_adds_lines_and_moves_expire_at(
    client: FlaskClient, catalogue: Catalogue, clock: FakeClock
) -> None:
    code = client.post("/v1/orders", json={}, headers=HEADERS).json["id"]
    clock.advance(minutes=5)
    first = reserved(client, offer(DRAMMEN_OFFER, externalReference="seat-7"), order_id=code)
    clock.advance(minutes=5)
    second = reserved(client, offer(TRONDHEIM_OFFER, selectedTravellerIds=TRAVELLERS[1:2]), order_id=code)
    assert first["orderId"] == second["orderId"] == code
    order = get_order(client, code)
    assert [line["id"] for line in order["orderLines"]] == first["orderLineIds"] + second["orderLineIds"]
    assert [line["externalReference"] for line in order["orderLines"]] == ["seat-7", None]
    assert (order["version"], order["totalAmount"], order["balance"]) == (1, "778.00", "778.00")
    assert order["expireAt"] == "2026-11-22T10:30:00Z"
    assert trail_types(client, code) == ["OrderCreated", "OrderLineAdded", "OrderLineAdded"]


def test_reserving_keeps_an_expire_at_the_client_set_and_refuses_another_currency(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    chosen = {"expireAt": "2026-11-22T11:00:00Z"}
    code = client.post("/v1/orders", json=chosen, headers=HEADERS).json["id"]
    reserved(client, offer(DRAMMEN_OFFER), order_id=code)
    assert get_order(client, code)["expireAt"] == "2026-11-22T11:00:00Z"
    kroner = client.post("/v1/orders", json={"currency": "SEK"}, headers=HEADERS).json["id"]
    response = reserve(client, offer(DRAMMEN_OFFER), order_id=kroner)
    assert_problem(response, 400, "VALIDATION_FAILED", "offerConfigurations")
    assert get_order(client, kroner)["orderLines"] == []


def test_reserving_needs_the_point_of_sale_and_distribution_channel_headers(
    client: FlaskClient, flask_app: Flask, catalogue: Catalogue
) -> None:
    before = events_recorded(flask_app)
    for name in ("Entur-POS", "Entur-Distribution-Channel"):
        headers = {k: v for k, v in HEADERS.items() if k != name}
        assert_problem(reserve(client, offer(BERGEN_OFFER), headers=headers), 400, "VALIDATION_FAILED", name)
    assert events_recorded(flask_app) == before
    assert availability(client) == seats(0)


def test_travellers_default_to_the_whole_mapping_or_a_selected_subset(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    everyone = reserved(client, offer(TRONDHEIM_OFFER))
    assert len(everyone["orderLineIds"]) == 2
    some = reserved(client, offer(TRONDHEIM_OFFER, selectedTravellerIds=TRAVELLERS[1:2]))
    order = get_order(client, some["orderId"])
    assert [line["travellerIds"] for line in order["orderLines"]] == [TRAVELLERS[1:2]]
    assert [t["id"] for t in order["travellers"]] == TRAVELLERS[1:2]


def test_travellers_outside_the_offers_mapping_or_its_limits_are_refused(
    client: FlaskClient, flask_app: Flask, catalogue: Catalogue
) -> None:
    at_most_two = variant(catalogue[DRAMMEN_OFFER], travellerMapping=[
        {"travellerIds": TRAVELLERS[:3], "minNumberOfTravellers": 1, "maxNumberOfTravellers": 2}])
    assert publish(client, at_most_two).status_code == 201
    before = events_recorded(flask_app)
    travellers = f"{FIRST}.selectedTravellerIds"
    cases = [
        (offer(BERGEN_OFFER, selectedTravellerIds=[str(uuid.uuid4())]), travellers),
        (offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[2:3]), travellers),
        (offer(BERGEN_OFFER, selectedTravellerIds=[]), travellers),
        (offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1] * 2), travellers),
        (offer(LILLEHAMMER_GROUP_OFFER, selectedTravellerIds=TRAVELLERS[:1]), travellers),
        (offer(at_most_two["id"]), travellers),
        (offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1], count=1), f"{FIRST}.count"),
    ]
    for configuration, field in cases:
        assert_problem(reserve(client, configuration), 400, "VALIDATION_FAILED", field)
    assert events_recorded(flask_app) == before
    assert availability(client) == seats(0)


def test_a_group_product_makes_one_line_for_all_and_other_products_one_per_traveller(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    group = reserved(client, offer(LILLEHAMMER_GROUP_OFFER, selectedTravellerIds=TRAVELLERS[:3]))
    [line] = get_order(client, group["orderId"])["orderLines"]
    assert line["travellerIds"] == TRAVELLERS[:3]
    assert line["price"] == {"amount": "1200.00", "currency": "NOK", "taxAmount": "128.57"}
    single = reserved(client, offer(TRONDHEIM_OFFER))
    order = get_order(client, single["orderId"])
    assert [line["travellerIds"] for line in order["orderLines"]] == [[t] for t in TRAVELLERS[:2]]
    assert order["totalAmount"] == "1298.00"


def test_a_supplement_adds_its_price_and_an_unknown_one_is_refused(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    bike = offer(TRONDHEIM_OFFER, selectedTravellerIds=TRAVELLERS[:1], selectableProductIds=["bike1"])
    order = get_order(client, reserved(client, bike)["orderId"])
    [line] = order["orderLines"]
    assert line["price"] == {"amount": "799.00", "currency": "NOK", "taxAmount": "85.61"}
    assert [s["selectableId"] for s in line["supplementProducts"]] == ["bike1"]
    assert (order["totalAmount"], order["totalTaxAmount"]) == ("799.00", "85.61")
    surfboard = {**bike, "selectableProductIds": ["surfboard"]}
    assert_problem(reserve(client, surfboard), 400, "VALIDATION_FAILED", f"{FIRST}.selectableProductIds")


def test_an_unknown_offer_answers_404_and_an_expired_one_409(
    client: FlaskClient, flask_app: Flask, catalogue: Catalogue, clock: FakeClock
) -> None:
    code = reserved(client, offer(DRAMMEN_OFFER))["orderId"]
    before = events_recorded(flask_app)
    for offer_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert_problem(reserve(client, offer(offer_id)), 404, "OFFER_NOT_FOUND")
        assert_problem(reserve(client, offer(DRAMMEN_OFFER), offer(offer_id), order_id=code), 404,
                       "OFFER_NOT_FOUND")
    clock.advance(days=6)
    assert_problem(reserve(client, offer(BERGEN_OFFER)), 409, "OFFER_EXPIRED")
    assert_problem(reserve(client, offer(BERGEN_OFFER), order_id=code), 409, "OFFER_EXPIRED")
    assert events_recorded(flask_app) == before
    assert availability(client) == seats(0)


def test_another_organisations_order_answers_404_to_reserve_offers(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    code = reserved(client, offer(DRAMMEN_OFFER))["orderId"]
    for order_id in (code, "ZZZZZZZZ", "not-an-id"):
        response = reserve(client, offer(BERGEN_OFFER), order_id=order_id, headers=OTHER_ORGANISATION)
        assert_problem(response, 404, "ORDER_NOT_FOUND")
    assert len(get_order(client, code)["orderLines"]) == 1
    assert availability(client) == seats(0)


def test_reserving_on_behalf_of_another_organisation_needs_the_permission(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    refused = reserve(client, offer(DRAMMEN_OFFER), headers={**HEADERS, "Entur-On-Behalf-Of": "7"})
    assert_problem(refused, 403, "FORBIDDEN")
    allowed = {**auth_headers(permissions=("orders:on-behalf-of",)), "Entur-On-Behalf-Of": "7"}
    response = reserve(client, offer(DRAMMEN_OFFER), headers=allowed)
    assert response.status_code == 200, response.json
    code = response.json["orderId"]
    assert get_order(client, code, auth_headers(organisation_id=7))["organisationId"] == 7
    assert_problem(client.get(f"/v1/orders/{code}", headers=HEADERS), 404, "ORDER_NOT_FOUND")


# ----------------------------------------------------------------- seats


def test_compulsory_legs_hold_one_seat_per_traveller(client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER))
    assert availability(client) == seats(2)
    order = get_order(client, answer["orderId"])
    assert [(r["datedServiceJourneyId"], r["seats"]) for r in order["reservations"]] == [
        (BERGEN_DEPARTURE, 1), (BERGEN_DEPARTURE, 1)]
    assert [line["reservationIds"] for line in order["orderLines"]] == [[r] for r in answer["reservationIds"]]
    optional = reserved(client, offer(TRONDHEIM_OFFER), order_id=answer["orderId"])
    assert optional["reservationIds"] == []
    assert availability(client) == seats(2)
    group = variant(catalogue[LILLEHAMMER_GROUP_OFFER], legs=catalogue[BERGEN_OFFER]["legs"])
    assert publish(client, group).status_code == 201
    together = reserved(client, offer(group["id"], selectedTravellerIds=TRAVELLERS[:3]))
    assert [(r["id"], r["seats"]) for r in get_order(client, together["orderId"])["reservations"]] == [
        (together["reservationIds"][0], 3)]
    assert availability(client) == seats(5)


def test_without_enough_seats_nothing_changes(
    client: FlaskClient, flask_app: Flask, catalogue: Catalogue
) -> None:
    nowhere = {**catalogue[BERGEN_OFFER]["legs"][0], "datedServiceJourneyId": "NSB:DatedServiceJourney:none"}
    no_capacity = variant(catalogue[BERGEN_OFFER], legs=[nowhere])
    assert publish(client, no_capacity).status_code == 201
    set_seats(client, BERGEN_DEPARTURE, {"seats": 3})
    code = reserved(client, offer(BERGEN_OFFER))["orderId"]
    order, trail, before = get_order(client, code), trail_types(client, code), events_recorded(flask_app)
    attempts = [
        reserve(client, offer(BERGEN_OFFER), order_id=code),
        reserve(client, offer(DRAMMEN_OFFER), offer(BERGEN_OFFER), order_id=code),
        reserve(client, offer(BERGEN_OFFER)),
        reserve(client, offer(DRAMMEN_OFFER), offer(BERGEN_OFFER)),
        reserve(client, offer(no_capacity["id"]), order_id=code),
    ]
    for response in attempts:
        assert_problem(response, 409, "NO_AVAILABILITY")
        assert "orderId" not in response.json
    assert get_order(client, code) == order
    assert trail_types(client, code) == trail
    assert events_recorded(flask_app) == before
    assert availability(client) == seats(2, capacity=3)
    last_seat = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]), order_id=code)
    assert len(last_seat["reservationIds"]) == 1
    assert availability(client) == seats(3, capacity=3)


def test_reset_gives_the_seats_back_and_returns_to_the_last_confirmed_version(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    code = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    pay_in_full(client, code)
    confirmed = get_order(client, code)
    reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[1:2]), order_id=code)
    assert availability(client) == seats(2)
    response = client.post(f"/v1/orders/{code}/reset", headers=HEADERS)
    assert response.status_code == 200
    assert response.json == confirmed == get_order(client, code, version=1)
    assert availability(client) == seats(1)
    assert trail_types(client, code)[-2:] == ["OrderLineAdded", "OrderReset"]
    never_confirmed = reserved(client, offer(BERGEN_OFFER))["orderId"]
    assert availability(client) == seats(3)
    empty = client.post(f"/v1/orders/{never_confirmed}/reset", headers=HEADERS).json
    assert (empty["version"], empty["status"], empty["orderLines"], empty["totalAmount"]) == (
        1, "DRAFT", [], "0.00")
    assert availability(client) == seats(1)


def test_reserving_onto_a_confirmed_order_opens_its_next_version(
    client: FlaskClient, catalogue: Catalogue, clock: FakeClock
) -> None:
    code = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:1]))["orderId"]
    pay_in_full(client, code)
    confirmed = get_order(client, code)
    clock.advance(minutes=30)
    added = reserved(client, offer(DRAMMEN_OFFER), order_id=code)
    order = get_order(client, code)
    assert (order["version"], order["status"]) == (2, "DRAFT")
    assert order["expireAt"] == "2026-11-22T10:50:00Z"
    assert [(line["status"], line["version"]) for line in order["orderLines"]] == [
        ("CONFIRMED", 1), ("DRAFT", 2)]
    assert order["orderLines"][1]["id"] == added["orderLineIds"][0]
    assert (order["totalAmount"], order["balance"]) == ("1028.00", "129.00")
    assert get_order(client, code, version=1) == confirmed
    assert (confirmed["version"], confirmed["status"], len(confirmed["orderLines"])) == (1, "CONFIRMED", 1)
    assert_problem(start_payment(client, code, orderVersion=1), 409, "VERSION_MISMATCH")
    assert pay_in_full(client, code)["orderVersion"] == 2
    second = get_order(client, code)
    assert (second["version"], second["status"], second["balance"]) == (2, "CONFIRMED", "0.00")
    assert get_order(client, code, version=2) == second
    assert get_order(client, code, version=1) == confirmed


# ----------------------------------------------------------------- payments


def test_a_payment_must_be_for_the_current_version_and_the_whole_balance(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    code = reserved(client, offer(DRAMMEN_OFFER))["orderId"]
    assert_problem(start_payment(client, code, orderVersion=2), 409, "VERSION_MISMATCH")
    for amount in ("100.00", "129.01", 129, "129.000", "-129.00"):
        assert_problem(start_payment(client, code, amount=amount), 400, "VALIDATION_FAILED", "amount")
    assert_problem(start_payment(client, code, currency="SEK"), 400, "VALIDATION_FAILED", "currency")
    assert_problem(start_payment(client, code, orderVersion="1"), 400, "VALIDATION_FAILED", "orderVersion")
    assert_problem(start_payment(client, code, tip="10.00"), 400, "VALIDATION_FAILED", "tip")
    empty = client.post("/v1/orders", json={}, headers=HEADERS).json["id"]
    assert_problem(start_payment(client, empty, amount="0.00"), 400, "VALIDATION_FAILED", "amount")
    someone_elses = {"orderId": code, "orderVersion": 1, "amount": "129.00", "currency": "NOK"}
    assert_problem(client.post("/v1/payments", json=someone_elses, headers=OTHER_ORGANISATION), 404,
                   "ORDER_NOT_FOUND")
    assert get_order(client, code)["locked"] is False


def test_a_pending_payment_locks_the_order_against_every_change(
    client: FlaskClient, pending: tuple[str, dict[str, Any]]
) -> None:
    code, payment = pending
    assert (payment["status"], payment["orderId"], payment["orderVersion"]) == ("CREATED", code, 1)
    assert (payment["amount"], payment["currency"], payment["paymentType"]) == ("899.00", "NOK", "VISA")
    assert (payment["createdAt"], payment["capturedAt"], payment["cancelledAt"]) == (
        "2026-11-22T10:00:00Z", None, None)
    assert client.get(f"/v1/payments/{payment['id']}", headers=HEADERS).json == payment
    order = get_order(client, code)
    assert order["locked"] is True
    changes = [
        reserve(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[1:2]), order_id=code),
        client.put(f"/v1/orders/{code}", json={"externalReference": "x"}, headers=HEADERS),
        client.post(f"/v1/orders/{code}/confirm", headers=HEADERS),
        client.post(f"/v1/orders/{code}/reset", headers=HEADERS),
        start_payment(client, code),
    ]
    for response in changes:
        assert_problem(response, 409, "ORDER_LOCKED")
    assert get_order(client, code) == order
    assert availability(client) == seats(1)
    assert trail_types(client, code) == ["OrderCreated", "OrderLineAdded", "OrderLocked"]


def test_capturing_confirms_the_order_and_is_idempotent(
    client: FlaskClient, flask_app: Flask, clock: FakeClock, pending: tuple[str, dict[str, Any]]
) -> None:
    code, payment = pending
    clock.advance(minutes=5)
    captured = payment_action(client, payment["id"], "capture")
    assert captured.status_code == 200
    assert captured.json == {**payment, "status": "CAPTURED", "capturedAt": "2026-11-22T10:05:00Z"}
    order = get_order(client, code)
    assert (order["status"], order["version"], order["locked"]) == ("CONFIRMED", 1, False)
    assert (order["totalAmount"], order["balance"]) == ("899.00", "0.00")
    assert order["lastConfirmedAt"] == "2026-11-22T10:05:00Z"
    assert [line["status"] for line in order["orderLines"]] == ["CONFIRMED"]
    assert order["paymentRefs"] == [{"paymentId": payment["id"], "creditId": None, "status": "CAPTURED",
                                     "amount": "899.00", "currency": "NOK", "paymentType": "VISA",
                                     "capturedAt": "2026-11-22T10:05:00Z"}]
    before = events_recorded(flask_app)
    again = payment_action(client, payment["id"], "capture")
    assert again.status_code == 200 and again.json == captured.json
    assert events_recorded(flask_app) == before
    assert get_order(client, code) == order
    assert trail_types(client, code)[-3:] == ["OrderLocked", "PaymentCaptured", "OrderConfirmed"]
    assert_problem(payment_action(client, payment["id"], "cancel"), 409, "PAYMENT_NOT_PENDING")


def test_cancelling_unlocks_the_order_unchanged_and_is_idempotent(
    client: FlaskClient, flask_app: Flask, clock: FakeClock, pending: tuple[str, dict[str, Any]]
) -> None:
    code, payment = pending
    locked = get_order(client, code)
    clock.advance(minutes=1)
    cancelled = payment_action(client, payment["id"], "cancel")
    assert cancelled.status_code == 200
    assert cancelled.json == {**payment, "status": "CANCELLED", "cancelledAt": "2026-11-22T10:01:00Z"}
    order = get_order(client, code)
    assert order == {**locked, "locked": False}
    assert trail_types(client, code)[-2:] == ["OrderLocked", "OrderUnlocked"]
    before = events_recorded(flask_app)
    again = payment_action(client, payment["id"], "cancel")
    assert again.status_code == 200 and again.json == cancelled.json
    assert events_recorded(flask_app) == before
    assert_problem(payment_action(client, payment["id"], "capture"), 409, "PAYMENT_NOT_PENDING")
    assert get_order(client, code) == order
    updated = client.put(f"/v1/orders/{code}", json={"externalReference": "x"}, headers=HEADERS)
    assert updated.status_code == 200


def test_unlocking_the_order_cancels_its_pending_payment(
    client: FlaskClient, flask_app: Flask, pending: tuple[str, dict[str, Any]]
) -> None:
    code, payment = pending
    unlocked = client.post(f"/v1/orders/{code}/unlock", headers=HEADERS)
    assert unlocked.status_code == 200 and unlocked.json["locked"] is False
    assert client.get(f"/v1/payments/{payment['id']}", headers=HEADERS).json["status"] == "CANCELLED"
    assert trail_types(client, code)[-1] == "OrderUnlocked"
    before = events_recorded(flask_app)
    assert client.post(f"/v1/orders/{code}/unlock", headers=HEADERS).json == unlocked.json
    assert events_recorded(flask_app) == before
    assert_problem(payment_action(client, payment["id"], "capture"), 409, "PAYMENT_NOT_PENDING")


def test_another_organisations_or_a_malformed_payment_id_answers_404(
    client: FlaskClient, pending: tuple[str, dict[str, Any]]
) -> None:
    code, payment = pending
    for payment_id, headers in ((payment["id"], OTHER_ORGANISATION), (str(uuid.uuid4()), HEADERS),
                                ("not-a-uuid", HEADERS), (code, HEADERS)):
        assert_problem(client.get(f"/v1/payments/{payment_id}", headers=headers), 404, "PAYMENT_NOT_FOUND")
        for action in ("capture", "cancel"):
            assert_problem(payment_action(client, payment_id, action, headers), 404, "PAYMENT_NOT_FOUND")
    assert get_order(client, code)["locked"] is True
    assert client.get(f"/v1/payments/{payment['id']}", headers=HEADERS).json == payment


# ----------------------------------------------------------------- end to end


def test_reserve_pay_and_capture_end_to_end_and_the_replayed_order_equals_the_live_one(
    client: FlaskClient, flask_app: Flask, catalogue: Catalogue, clock: FakeClock
) -> None:
    answer = reserved(client, offer(BERGEN_OFFER), offer(TRONDHEIM_OFFER, selectableProductIds=["bike1"]))
    code = answer["orderId"]
    assert get_order(client, code)["balance"] == "3396.00"
    clock.advance(minutes=3)
    payment = pay_in_full(client, code)
    assert (payment["status"], payment["amount"]) == ("CAPTURED", "3396.00")
    order = get_order(client, code)
    assert (order["status"], order["balance"], order["lastConfirmedAt"]) == (
        "CONFIRMED", "0.00", "2026-11-22T10:03:00Z")
    assert [p["paymentId"] for p in order["paymentRefs"]] == [payment["id"]]
    assert trail_types(client, code) == ["OrderCreated", *["OrderLineAdded"] * 4, "OrderLocked",
                                         "PaymentCaptured", "OrderConfirmed"]
    assert availability(client) == seats(2)

    application = flask_app.extensions["ordering"].application()
    live = application.get_order(code, 1)
    replayed: Any = None
    for domain_event in application.events.get(live.id):
        replayed = domain_event.mutate(replayed)
    assert vars(replayed) == vars(live)


# ----------------------------------------------------------------- bugs found


def test_a_payment_without_currency_is_taken_in_the_default_currency(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    code = reserved(client, offer(DRAMMEN_OFFER))["orderId"]
    response = client.post("/v1/payments", headers=HEADERS,
                           json={"orderId": code, "orderVersion": 1, "amount": "129.00"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["currency"] == "NOK"


def test_an_offer_published_without_a_currency_is_priced_in_the_default_currency(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    price = {"amount": "129.00", "taxAmount": "13.82"}
    no_currency = variant(catalogue[DRAMMEN_OFFER], price=price)
    assert publish(client, no_currency).status_code == 201
    response = reserve(client, offer(no_currency["id"]))
    assert response.status_code == 200, response.get_data(as_text=True)
