"""The change feed over HTTP (contract section 8), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from typing import Any

from flask.testing import FlaskClient

from ordering.demo_catalogue import BERGEN_OFFER, TRAVELLERS
from tests.conftest import auth_headers
from tests.http.test_orders_http import assert_problem
from tests.http.test_refunds_http import add_fee, options, refund
from tests.http.test_sales_http import Catalogue, offer, pay_in_full, reserved

HEADERS = auth_headers()
OTHER_ORGANISATION = auth_headers(organisation_id=2)


def feed(client: FlaskClient, headers: dict[str, str] = HEADERS, **query: Any) -> Any:
    return client.get("/v1/order-events", query_string=query, headers=headers)


def create(client: FlaskClient, headers: dict[str, str] = HEADERS) -> str:
    response = client.post("/v1/orders", json={}, headers=headers)
    assert response.status_code == 201, response.json
    code: str = response.json["id"]
    return code


def test_the_feed_shows_the_organisations_events_as_the_audit_trail_plus_order_id_and_cursor(
        client: FlaskClient) -> None:
    code = create(client)
    client.put(f"/v1/orders/{code}", json={"externalReference": "changed"}, headers=HEADERS)
    create(client, OTHER_ORGANISATION)
    response = feed(client)
    assert response.status_code == 200, response.json
    page = response.json
    trail = client.get(f"/v1/orders/{code}/events", headers=HEADERS).json["events"]
    as_trail = [{k: v for k, v in item.items() if k not in ("orderId", "cursor")} for item in page["items"]]
    assert as_trail == trail
    assert {item["orderId"] for item in page["items"]} == {code}
    assert [item["type"] for item in page["items"]] == ["OrderCreated", "OrderUpdated"]
    assert page["next"] and all(item["cursor"] for item in page["items"])
    assert feed(client, after=page["next"]).json == {"items": [], "next": page["next"]}


def test_a_client_paging_with_next_sees_each_event_once(client: FlaskClient) -> None:
    codes = [create(client) for _ in range(5)]
    seen: list[tuple[str, int]] = []
    after = None
    while True:
        page = feed(client, limit=2, **({"after": after} if after else {})).json
        if not page["items"]:
            break
        assert len(page["items"]) <= 2
        seen += [(item["orderId"], item["sequence"]) for item in page["items"]]
        after = page["next"]
    assert seen == [(code, 1) for code in codes]


def test_after_end_is_an_empty_page_whose_next_follows_new_events(client: FlaskClient) -> None:
    create(client)
    end = feed(client, after="end").json
    assert end["items"] == [] and end["next"]
    code = create(client)
    assert [item["orderId"] for item in feed(client, after=end["next"]).json["items"]] == [code]


def test_a_long_poll_returns_the_event_that_arrives_while_it_waits(
        client: FlaskClient, flask_app: Any) -> None:
    end = feed(client, after="end").json["next"]
    writer = threading.Timer(0.3, lambda: flask_app.test_client().post("/v1/orders", json={},
                                                                       headers=HEADERS))
    writer.start()
    page = feed(client, after=end, wait=20).json
    writer.join()
    assert [item["type"] for item in page["items"]] == ["OrderCreated"]


def test_a_long_poll_with_nothing_new_answers_an_empty_page_with_the_cursor_sent(client: FlaskClient) -> None:
    create(client)
    end = feed(client, after="end").json["next"]
    assert feed(client, after=end, wait=1).json == {"items": [], "next": end}


def test_bad_parameters_and_cursors_are_refused_naming_them(client: FlaskClient) -> None:
    create(client)
    cursor = feed(client).json["next"]
    assert_problem(feed(client, OTHER_ORGANISATION, after=cursor), 400, "VALIDATION_FAILED", "after")
    for after in ("nonsense", cursor[:-1] + ("0" if cursor[-1] != "0" else "1"), "x" * 201):
        assert_problem(feed(client, after=after), 400, "VALIDATION_FAILED", "after")
    for limit in (0, 101, "ten"):
        assert_problem(feed(client, limit=limit), 400, "VALIDATION_FAILED", "limit")
    for wait in (-1, 31, "soon"):
        assert_problem(feed(client, wait=wait), 400, "VALIDATION_FAILED", "wait")
    assert_problem(feed(client, since=1), 400, "VALIDATION_FAILED", "since")
    assert client.get("/v1/order-events").status_code == 401


def test_the_openapi_document_describes_the_feed(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/v1/order-events"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {"after", "limit", "wait"}
    assert "200" in operation["responses"]


def test_after_sales_events_appear_in_the_feed_as_in_the_trail(
        client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (_, refunded) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    [option] = [o["id"] for o in options(client, code, orderLineIds=refunded).json["options"]]
    assert refund(client, code, 1, option).status_code == 200
    assert add_fee(client, code).status_code == 201
    items = [item for item in feed(client).json["items"] if item["orderId"] == code]
    trail = client.get(f"/v1/orders/{code}/events", headers=HEADERS).json["events"]
    assert [{k: v for k, v in item.items() if k not in ("orderId", "cursor")} for item in items] == trail
    assert {"OrderLinesRefunded", "PaymentCredited", "FeeAdded"} <= {item["type"] for item in items}
    assert [item["orderVersion"] for item in items][-1] == 3
