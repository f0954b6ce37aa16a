"""GET /v1/orders answered from the read model: every operator, paging, sorting, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.application import OrderingApplication
from ordering.demo_catalogue import (
    BERGEN_DEPARTURE,
    BERGEN_OFFER,
    DEMO_CAPACITY,
    DRAMMEN_OFFER,
    TRONDHEIM_OFFER,
    demo_offers,
)
from ordering.domain.reserving import OfferConfiguration
from ordering.http.sales import load_offers
from tests.builders import context_of
from tests.conftest import FakeClock, auth_headers
from tests.http.test_orders_http import assert_problem

HEADERS = auth_headers()


def app_of(flask_app: Flask) -> OrderingApplication:
    application: OrderingApplication = flask_app.extensions["ordering"].application()
    return application


@pytest.fixture
def shop(flask_app: Flask, clock: FakeClock) -> dict[str, Any]:
    """Six orders of organisation 1 and one of organisation 2, made a minute apart."""
    application = app_of(flask_app)
    application.publish_offers(load_offers(demo_offers(clock.now)))
    for journey, seats in DEMO_CAPACITY.items():
        application.set_capacity(journey, seats)
    made: dict[str, Any] = {}

    def reserve(name: str, offer: str, organisation: int = 1, **config: Any) -> None:
        clock.advance(minutes=1)
        reservation = application.reserve_offers(
            context_of(organisation), None, [OfferConfiguration(offer, **config)]
        )
        made[name] = reservation

    reserve("bergen", BERGEN_OFFER, external_reference="ref-bergen")  # 1798.00
    reserve(
        "bergen_one", BERGEN_OFFER, selected_traveller_ids=["7a1c0e52-0000-4b7e-8c1d-000000000001"]
    )  # 899.00
    reserve(
        "trondheim", TRONDHEIM_OFFER, selected_traveller_ids=["7a1c0e52-0000-4b7e-8c1d-000000000002"]
    )  # 649.00
    reserve("drammen", DRAMMEN_OFFER)  # 129.00
    reserve("drammen_2", DRAMMEN_OFFER)  # 129.00
    reserve("other_org", DRAMMEN_OFFER, organisation=2)
    clock.advance(minutes=1)
    made["empty"] = application.create_order(context_of(1), external_reference="empty")
    return {name: getattr(r, "order", r).code for name, r in made.items()}


def ids(client: FlaskClient, query: str) -> list[str]:
    response = client.get(f"/v1/orders?{query}", headers=HEADERS)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def names(shop: dict[str, Any], found: list[str]) -> list[str]:
    by_id = {v: k for k, v in shop.items()}
    return [by_id[i] for i in found]


def test_the_default_search_lists_the_callers_orders_oldest_first(
    client: FlaskClient, shop: dict[str, Any]
) -> None:
    page = client.get("/v1/orders", headers=HEADERS).json
    assert names(shop, [o["id"] for o in page["items"]]) == [
        "bergen",
        "bergen_one",
        "trondheim",
        "drammen",
        "drammen_2",
        "empty",
    ]
    assert (page["page"], page["perPage"], page["totalItems"], page["totalPages"]) == (1, 20, 6, 1)
    first = page["items"][0]
    assert first == client.get(f"/v1/orders/{shop['bergen']}", headers=HEADERS).json


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=DRAFT&totalAmount=gt:0.00", ["bergen", "bergen_one", "trondheim", "drammen", "drammen_2"]),
        ("totalAmount=eq:129.00", ["drammen", "drammen_2"]),
        ("totalAmount=ne:129.00&totalAmount=ne:0.00", ["bergen", "bergen_one", "trondheim"]),
        ("totalAmount=gte:649.00&totalAmount=lt:1798.00", ["bergen_one", "trondheim"]),
        ("balance=lte:129.00", ["drammen", "drammen_2", "empty"]),
        ("totalTaxAmount=in:96.32,69.54", ["bergen_one", "trondheim"]),
        ("totalAmount=nin:129.00,0.00,1798.00", ["bergen_one", "trondheim"]),
        ("externalReference=empty", ["empty"]),
        ("externalReference=ne:empty", ["bergen", "bergen_one", "trondheim", "drammen", "drammen_2"]),
        (
            "version=1&organisationId=1",
            ["bergen", "bergen_one", "trondheim", "drammen", "drammen_2", "empty"],
        ),
        ("version=gt:1", []),
        (
            "createdAt=gte:2026-11-22T10:02:00Z&createdAt=lt:2026-11-22T11:04:00%2B01:00",
            ["bergen_one", "trondheim"],
        ),
        ("createdAt=gte:2026-11-22T11:04:00+01:00", ["drammen", "drammen_2", "empty"]),
        ("lastConfirmedAt=gt:2026-01-01T00:00:00Z", []),
        ("id=in:{bergen},{empty}", ["bergen", "empty"]),
        ("datedServiceJourneyId=" + BERGEN_DEPARTURE, ["bergen", "bergen_one"]),
        ("fromStopPlaceId=NSR:StopPlace:11", ["drammen", "drammen_2"]),
        ("toStopPlaceId=in:NSR:StopPlace:548,NSR:StopPlace:659", ["bergen", "bergen_one", "trondheim"]),
        ("orderLineExternalReference=ref-bergen", ["bergen"]),
        (
            "salesPackageId=NSB:SalesPackage:Ordinary&fareProductVersion=NSB:Version:V1",
            ["bergen", "bergen_one", "trondheim", "drammen", "drammen_2"],
        ),
        ("startTime=gte:2026-11-29T07:25:00Z&endTime=lte:2026-11-29T08:05:00Z", ["drammen", "drammen_2"]),
        ("serviceJourneyId=nin:NSB:ServiceJourney:L1-drammen", ["bergen", "bergen_one", "trondheim"]),
        (
            "pos=Entur-APP&currency=NOK&createdBy=tester&distributionChannelId=ENT:DistributionChannel:Web",
            ["bergen", "bergen_one", "trondheim", "drammen", "drammen_2", "empty"],
        ),
    ],
)
def test_each_filter_and_operator_selects_the_right_orders(
    client: FlaskClient, shop: dict[str, Any], query: str, expected: list[str]
) -> None:
    assert names(shop, ids(client, query.format(**shop))) == expected


def test_line_level_filters_match_through_the_orders_own_ids(
    client: FlaskClient, flask_app: Flask, shop: dict[str, Any]
) -> None:
    order = app_of(flask_app).get_order(shop["bergen"], 1)
    line, reservation = order.lines[0], order.reservations[0]
    assert names(shop, ids(client, f"orderLineId={line.id}")) == ["bergen"]
    assert names(shop, ids(client, f"reservationId={reservation.id}")) == ["bergen"]


def test_sorting_breaks_ties_by_id_and_paging_walks_every_order_once(
    client: FlaskClient, shop: dict[str, Any]
) -> None:
    by_amount = ids(client, "orderBy=totalAmount&sortBy=desc")
    assert names(shop, by_amount)[:3] == ["bergen", "bergen_one", "trondheim"]
    assert by_amount[3:5] == sorted([shop["drammen"], shop["drammen_2"]], reverse=True)
    walked = [
        i for page in (1, 2, 3) for i in ids(client, f"orderBy=totalAmount&sortBy=desc&perPage=2&page={page}")
    ]
    assert walked == by_amount
    beyond = client.get("/v1/orders?perPage=4&page=3", headers=HEADERS).json
    assert (beyond["items"], beyond["totalItems"], beyond["totalPages"]) == ([], 6, 2)
    never_confirmed = sorted(v for k, v in shop.items() if k != "other_org")
    assert ids(client, "orderBy=lastConfirmedAt") == never_confirmed  # all null: ties go by id


def test_another_organisation_sees_only_its_own_orders(client: FlaskClient, shop: dict[str, Any]) -> None:
    theirs = client.get("/v1/orders", headers=auth_headers(organisation_id=2)).json
    assert [o["id"] for o in theirs["items"]] == [shop["other_org"]]
    assert ids(client, f"id={shop['other_org']}") == []
    assert ids(client, "organisationId=2") == []


def test_a_change_is_visible_to_the_next_search(client: FlaskClient, shop: dict[str, Any]) -> None:
    code = shop["empty"]
    client.put(f"/v1/orders/{code}", json={"externalReference": "renamed"}, headers=HEADERS)
    assert ids(client, "externalReference=renamed") == [code]
    assert ids(client, "externalReference=empty") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("status=gt:DRAFT", "status"),
        ("totalAmount=gt:abc", "totalAmount"),
        ("totalAmount=100", "totalAmount"),
        ("version=1.5", "version"),
        ("createdAt=yesterday", "createdAt"),
        ("createdAt=2026-11-22T10:00:00", "createdAt"),
        ("createdAt=gte:2026-13-45T99:00:00Z", "createdAt"),
        ("startTime=like:x", "startTime"),
        ("status=in:" + ",".join(["DRAFT"] * 101), "status"),
        ("perPage=0", "perPage"),
        ("perPage=101", "perPage"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("orderBy=status", "orderBy"),
        ("sortBy=up", "sortBy"),
        ("sortBy=asc&sortBy=desc", "sortBy"),
    ],
)
def test_bad_searches_answer_400_naming_the_field(client: FlaskClient, query: str, field: str) -> None:
    assert_problem(client.get(f"/v1/orders?{query}", headers=HEADERS), 400, "VALIDATION_FAILED", field)


@pytest.mark.parametrize(
    "hostile",
    [
        "' OR 1=1 --",
        "x'); DROP TABLE order_view_1; --",
        "%",
        "_",
        "\\",
        "?",
        "%s",
        "' UNION SELECT document FROM x",
    ],
)
def test_hostile_values_are_only_ever_compared_as_values(
    client: FlaskClient, shop: dict[str, Any], hostile: str
) -> None:
    for status in (hostile, f"ne:{hostile}"):  # an enumerated field refuses what it does not know
        response = client.get("/v1/orders", query_string={"status": status}, headers=HEADERS)
        assert response.status_code == 400 and response.json["errors"][0]["field"] == "status"
    for field in ("externalReference", "contact", "datedServiceJourneyId", "id"):
        response = client.get("/v1/orders", query_string={field: hostile}, headers=HEADERS)
        assert response.status_code == 200 and response.json["totalItems"] == 0
        response = client.get("/v1/orders", query_string={field: f"ne:{hostile}"}, headers=HEADERS)
        assert response.status_code == 200
        assert response.json["totalItems"] >= (0 if field == "contact" else 1)  # no contact info stored
    assert client.get("/v1/orders", headers=HEADERS).json["totalItems"] == 6


def test_reset_and_expiry_take_scrapped_lines_out_of_line_level_searches(
    client: FlaskClient, flask_app: Flask, shop: dict[str, Any], clock: FakeClock
) -> None:
    code = shop["drammen"]
    assert client.post(f"/v1/orders/{code}/reset", headers=HEADERS).status_code == 200
    assert shop["drammen"] not in ids(client, "fromStopPlaceId=NSR:StopPlace:11")
    clock.advance(minutes=30)
    app_of(flask_app).expire_order(shop["drammen_2"], clock.now)
    assert ids(client, "fromStopPlaceId=NSR:StopPlace:11") == []
    assert names(shop, ids(client, "totalAmount=0.00")) == ["drammen", "drammen_2", "empty"]
