"""What an integrator notices at the edges: auth challenges, CORS, Retry-After, Location, 400s."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from ordering.bootstrap import Services, build_services, create_schema
from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER
from ordering.http.factory import create_app
from ordering.scheduling import Leadership
from ordering.settings import Settings
from tests.conftest import auth_headers, make_settings
from tests.http.test_orders_http import assert_problem
from tests.http.test_sales_http import Catalogue, availability, offer, reserve, seats, set_seats

HEADERS = auth_headers()


def test_a_missing_or_refused_token_is_challenged_with_www_authenticate_bearer(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}):
        response = client.get("/v1/orders", headers=headers)
        assert_problem(response, 401, "UNAUTHENTICATED")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_retry_after_is_only_on_answers_that_ask_for_a_retry(client: FlaskClient) -> None:
    created = client.post("/v1/orders", json={}, headers=HEADERS)
    assert created.status_code == 201 and "Retry-After" not in created.headers
    for answer in (client.get(created.headers["Location"], headers=HEADERS),
                   client.get("/v1/orders/ZZZZZZZZ", headers=HEADERS),
                   client.get("/v1/orders"), client.get("/health/live")):
        assert "Retry-After" not in answer.headers


def test_a_reservation_that_creates_an_order_says_where_it_is(
    client: FlaskClient, catalogue: Catalogue
) -> None:
    created = reserve(client, offer(BERGEN_OFFER))
    assert created.status_code == 200
    assert created.headers["Location"].endswith(f"/v1/orders/{created.json['orderId']}")
    assert client.get(created.headers["Location"], headers=HEADERS).status_code == 200
    onto = reserve(client, offer(BERGEN_OFFER), order_id=created.json["orderId"])
    assert onto.status_code == 200 and "Location" not in onto.headers


def test_capacity_is_never_set_below_the_seats_reserved(client: FlaskClient, catalogue: Catalogue) -> None:
    assert reserve(client, offer(BERGEN_OFFER)).status_code == 200
    refused = set_seats(client, BERGEN_DEPARTURE, {"seats": 1})
    assert_problem(refused, 409, "CAPACITY_BELOW_RESERVED", "seats")
    assert "2" in refused.json["detail"]
    assert availability(client) == seats(2)
    assert set_seats(client, BERGEN_DEPARTURE, {"seats": 2}).json == seats(2, capacity=2)


def test_an_unknown_status_in_a_search_is_a_400_not_an_empty_page(client: FlaskClient) -> None:
    for query in ("status=zz:DRAFT", "status=draft", "status=in:DRAFT,NOPE", "status=ne:"):
        assert_problem(client.get(f"/v1/orders?{query}", headers=HEADERS), 400, "VALIDATION_FAILED",
                       "status")
    assert client.get("/v1/orders?status=in:DRAFT,CONFIRMED", headers=HEADERS).status_code == 200


def test_cors_is_off_by_default_and_a_preflight_is_never_a_401(client: FlaskClient) -> None:
    preflight = client.options("/v1/orders", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code < 300
    assert "Access-Control-Allow-Origin" not in preflight.headers
    answer = client.get("/v1/orders", headers={**HEADERS, "Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_allows_the_configured_origins_only(tmp_path: Path) -> None:
    settings = replace(make_settings("sqlite", tmp_path), cors_origins=("https://shop.example",))
    create_schema(settings)
    client = create_app(settings).test_client()
    preflight = client.options("/v1/reserve-offers", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, entur-pos, et-client-name"})
    assert preflight.status_code < 300
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert "entur-pos" in allowed and "authorization" in allowed
    answer = client.get("/v1/orders", headers={**HEADERS, "Origin": "https://shop.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "X-Correlation-Id" in answer.headers["Access-Control-Expose-Headers"]
    stranger = client.get("/v1/orders", headers={**HEADERS, "Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers


def _names_of_connections(services: Services) -> set[str]:
    """What the event store's and the read model's connections call themselves."""
    with services.read_model.database.transaction() as cursor:
        cursor.execute("SELECT current_setting('application_name')")
        names = {cursor.fetchone()[0]}
    with services.application.recorder.datastore.transaction() as curs:  # type: ignore[attr-defined]
        curs.execute("SELECT current_setting('application_name') AS name")
        names.add(curs.fetchone()["name"])
    return names


@pytest.mark.postgres
@pytest.mark.parametrize("kind", ["web", "scheduler", "cli"])
def test_postgres_connections_name_the_process_kind(postgres_settings: Settings, kind: str) -> None:
    settings = postgres_settings if kind == "web" else postgres_settings.for_process(kind)
    services = build_services(settings)
    try:
        assert _names_of_connections(services) == {f"order-service-{kind}"}
    finally:
        services.close()
    leadership = Leadership(settings)
    try:
        assert leadership.acquire()
        assert leadership._connection is not None
        row = leadership._connection.execute("SELECT current_setting('application_name')").fetchone()
        assert row is not None and row[0].startswith(f"order-service-{kind} ")
    finally:
        leadership.release()
