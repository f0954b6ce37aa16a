"""Ticket distribution groups (contract section 7) over HTTP, made by the follower of the order
log (run here a catch-up at a time, as its thread does), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ordering.demo_catalogue import (
    BERGEN_MINIPRIS_OFFER,
    BERGEN_OFFER,
    DRAMMEN_OFFER,
    LILLEHAMMER_GROUP_OFFER,
    TRAVELLERS,
    TRONDHEIM_OFFER,
)
from ordering.scheduling import sweep
from projections.follower import Follower
from projections.ticket_groups import TicketGroupProjector, verify
from tests.conftest import FakeClock, auth_headers
from tests.http.test_after_sales_http import add_supplements, bicycle, replacing, sold, update
from tests.http.test_external_confirmation_http import confirm_lines, paid_and_waiting
from tests.http.test_orders_http import assert_problem
from tests.http.test_refunds_http import cancel, options, refund
from tests.http.test_sales_http import (
    HEADERS,
    Catalogue,
    get_order,
    offer,
    pay_in_full,
    publish,
    reserved,
    variant,
)

OTHER_ORGANISATION = auth_headers(organisation_id=2)
ONE = TRAVELLERS[:1]


def follow(flask_app: Flask) -> int:
    """One catch-up of the ticket-group follower, as its thread does after each poll."""
    application = flask_app.extensions["ordering"].application()
    return Follower(application.recorder, TicketGroupProjector(application)).catch_up()


def groups(client: FlaskClient, code: str, headers: dict[str, str] = HEADERS, **query: Any) -> Any:
    response = client.get("/v1/ticket-distribution-groups", query_string={"orderId": code, **query},
                          headers=headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def live(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The groups not cancelled, by order line."""
    return {g["orderLineId"]: g for g in items if g["status"] != "CANCELLED"}


def distribute(client: FlaskClient, *group_ids: str, headers: dict[str, str] = HEADERS) -> Any:
    return client.post("/v1/ticket-distribution-groups/distribute", headers=headers,
                       json={"ticketDistributionGroupIds": list(group_ids)})


def assert_verified(flask_app: Flask) -> None:
    problems: list[str] = []
    assert verify(flask_app.extensions["ordering"].application(), problems.append) == 0, problems


def test_a_new_sale_gets_one_group_per_line_with_a_distribution_per_fare_product_and_traveller(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code = answer["orderId"]
    follow(flask_app)
    assert groups(client, code) == []  # not confirmed: no group
    pay_in_full(client, code)
    follow(flask_app)
    items = groups(client, code)
    order = get_order(client, code)
    assert sorted(g["orderLineId"] for g in items) == sorted(answer["orderLineIds"])
    for group in items:
        line = next(x for x in order["orderLines"] if x["id"] == group["orderLineId"])
        assert (group["orderId"], group["orderVersion"], group["status"], group["replacesGroupIds"],
                group["cancelledAt"]) == (code, 1, "CREATED", [], None)
        assert group["createdAt"].endswith("Z")
        assert [(d["fareProductId"], d["travellerId"], d["reservationIds"], d["status"])
                for d in group["ticketDistributions"]] == [
            (p["id"], t, line["reservationIds"], "CREATED")
            for p in line["fareProducts"] for t in line["travellerIds"]]
    follow(flask_app)  # its own events, which lead to nothing
    assert follow(flask_app) == 0
    assert groups(client, code) == items
    assert_verified(flask_app)


def test_a_group_product_is_one_group_with_a_distribution_per_traveller(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(LILLEHAMMER_GROUP_OFFER, selectedTravellerIds=TRAVELLERS[:3]))
    pay_in_full(client, answer["orderId"])
    follow(flask_app)
    (group,) = groups(client, answer["orderId"])
    assert sorted(d["travellerId"] for d in group["ticketDistributions"]) == TRAVELLERS[:3]


def test_a_change_cancels_the_replaced_lines_group_once_confirmed_and_the_new_one_names_it(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, BERGEN_OFFER)
    other = reserved(client, offer(TRONDHEIM_OFFER, selectedTravellerIds=TRAVELLERS[1:2]), order_id=code)
    pay_in_full(client, code)
    follow(flask_app)
    before = live(groups(client, code))
    assert set(before) == {line, other["orderLineIds"][0]}
    change = update(client, code, replacing(line, BERGEN_MINIPRIS_OFFER), refundPriceDifference=False)
    assert change.status_code == 200, change.json
    follow(flask_app)
    assert live(groups(client, code)) == before  # not confirmed yet: nothing touched
    assert get_order(client, code)["balance"] != "0.00"
    code_balance = get_order(client, code)
    credit = client.post("/v1/credits", headers=HEADERS, json={
        "orderId": code, "orderVersion": code_balance["version"], "amount": code_balance["balance"][1:],
        "currency": "NOK", "reason": "cheaper"})
    assert credit.status_code == 201, credit.json
    follow(flask_app)
    items = groups(client, code)
    (new_line,) = change.json["orderLineIds"]
    now_live = live(items)
    assert set(now_live) == {new_line, other["orderLineIds"][0]}
    assert now_live[other["orderLineIds"][0]] == before[other["orderLineIds"][0]]  # untouched
    old = next(g for g in items if g["id"] == before[line]["id"])
    assert old["status"] == "CANCELLED" and old["cancelledAt"] is not None
    assert {d["status"] for d in old["ticketDistributions"]} == {"CANCELLED"}
    assert (now_live[new_line]["orderVersion"], now_live[new_line]["replacesGroupIds"]) == (3, [old["id"]])
    assert [g["id"] for g in groups(client, code, orderVersion=3)] == [now_live[new_line]["id"]]
    assert [g["id"] for g in groups(client, code, status="CANCELLED")] == [old["id"]]
    assert_verified(flask_app)


def test_many_lines_replaced_by_one_are_all_named_by_its_group(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (first, second) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    follow(flask_app)
    old = live(groups(client, code))
    joined = update(client, code, replacing(first, LILLEHAMMER_GROUP_OFFER, TRAVELLERS[:2],
                                            selectedOrderLineIds=[first, second]), refundPriceDifference=True)
    assert joined.status_code == 200, joined.json
    if get_order(client, code)["status"] == "DRAFT":
        pay_in_full(client, code)
    follow(flask_app)
    (new_line,) = joined.json["orderLineIds"]
    now = live(groups(client, code))
    assert set(now) == {new_line}
    assert sorted(now[new_line]["replacesGroupIds"]) == sorted([old[first]["id"], old[second]["id"]])


def test_supplements_cancel_the_lines_group_and_make_one_for_its_new_version(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, TRONDHEIM_OFFER)
    follow(flask_app)
    (first,) = groups(client, code)
    assert add_supplements(client, code, bicycle(line)).status_code == 200
    follow(flask_app)
    assert [g["status"] for g in groups(client, code)] == ["CREATED"]
    pay_in_full(client, code)
    follow(flask_app)
    items = groups(client, code)
    assert [(g["orderLineId"], g["orderVersion"], g["status"]) for g in items] == [
        (line, 1, "CANCELLED"), (line, 2, "CREATED")]
    assert items[1]["replacesGroupIds"] == [first["id"]]
    assert_verified(flask_app)


def test_a_reset_or_an_expired_change_touches_no_group(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue, clock: FakeClock) -> None:
    code, line = sold(client, BERGEN_OFFER)
    follow(flask_app)
    before = groups(client, code)
    assert update(client, code, replacing(line, BERGEN_MINIPRIS_OFFER)).status_code == 200
    assert client.post(f"/v1/orders/{code}/reset", headers=HEADERS).status_code == 200
    follow(flask_app)
    assert groups(client, code) == before
    assert reserved(client, offer(TRONDHEIM_OFFER, selectedTravellerIds=ONE), order_id=code)
    clock.advance(minutes=21)
    assert sweep(flask_app.extensions["ordering"].services(), clock.now).expired == 1
    follow(flask_app)
    assert get_order(client, code)["version"] == 1
    assert groups(client, code) == before
    assert_verified(flask_app)


def test_a_pending_line_gets_its_group_once_confirmed_externally_and_a_failed_one_never(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    external = variant(catalogue[DRAMMEN_OFFER], externalConfirmationRequired=True)
    assert publish(client, external).status_code == 201
    code, line = paid_and_waiting(client, str(external["id"]))
    follow(flask_app)
    assert groups(client, code) == []  # PENDING: the order waits, DRAFT
    assert confirm_lines(client, code).status_code == 200
    follow(flask_app)
    assert [(g["orderLineId"], g["status"]) for g in groups(client, code)] == [(line, "CREATED")]
    failing, _ = paid_and_waiting(client, str(external["id"]))
    assert client.post(f"/v1/orders/{failing}/fail", headers=HEADERS, json={}).status_code == 200
    assert get_order(client, failing)["status"] == "CONFIRMED"
    follow(flask_app)
    assert groups(client, failing) == []  # FAILED: never a group
    assert_verified(flask_app)


def test_distribute_is_idempotent_and_a_cancelled_group_refuses(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, line = sold(client, TRONDHEIM_OFFER)
    follow(flask_app)
    (group,) = groups(client, code)
    first = distribute(client, group["id"])
    assert first.status_code == 200, first.json
    (done,) = first.json["items"]
    assert done["status"] == "DISTRIBUTED"
    assert {d["status"] for d in done["ticketDistributions"]} == {"DISTRIBUTED"}
    assert all(d["distributedAt"] for d in done["ticketDistributions"])
    again = distribute(client, group["id"], group["id"])
    assert again.status_code == 200 and again.json["items"] == [done]  # no second event
    trail = client.get(f"/v1/ticket-distribution-groups/{group['id']}/events", headers=HEADERS)
    assert trail.status_code == 200
    assert [e["type"] for e in trail.json["events"]] == ["GroupCreated", "GroupDistributed"]
    assert trail.json["events"][0]["context"]["organisationId"] == 1
    assert trail.json["events"][1]["context"]["clientName"] == "acme-tests"
    assert add_supplements(client, code, bicycle(line)).status_code == 200
    pay_in_full(client, code)
    follow(flask_app)  # a distributed group is cancelled too when its line changes
    cancelled, fresh = groups(client, code)
    assert (cancelled["id"], cancelled["status"]) == (group["id"], "CANCELLED")
    assert_problem(distribute(client, fresh["id"], cancelled["id"]), 409, "TICKETS_CANCELLED")
    assert groups(client, code)[1]["status"] == "CREATED"  # all or nothing
    assert_problem(distribute(client, fresh["id"], str(uuid.uuid4())), 404,
                   "TICKET_DISTRIBUTION_GROUP_NOT_FOUND")
    assert_problem(distribute(client, "not-a-uuid"), 404, "TICKET_DISTRIBUTION_GROUP_NOT_FOUND")
    types = [e["type"] for e in client.get(f"/v1/ticket-distribution-groups/{group['id']}/events",
                                           headers=HEADERS).json["events"]]
    assert types == ["GroupCreated", "GroupDistributed", "GroupCancelled"]
    assert_verified(flask_app)  # distribution is a client's act: replay agrees on the rest


def test_another_organisations_groups_and_orders_are_not_found(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, TRONDHEIM_OFFER)
    follow(flask_app)
    (group,) = groups(client, code)
    listed = client.get("/v1/ticket-distribution-groups", query_string={"orderId": code},
                        headers=OTHER_ORGANISATION)
    assert_problem(listed, 404, "ORDER_NOT_FOUND")
    assert_problem(distribute(client, group["id"], headers=OTHER_ORGANISATION), 404,
                   "TICKET_DISTRIBUTION_GROUP_NOT_FOUND")
    trail = client.get(f"/v1/ticket-distribution-groups/{group['id']}/events", headers=OTHER_ORGANISATION)
    assert_problem(trail, 404, "TICKET_DISTRIBUTION_GROUP_NOT_FOUND")
    auditor = auth_headers(organisation_id=2, permissions=("audit:read-all",))
    audited = client.get(f"/v1/ticket-distribution-groups/{group['id']}/events", headers=auditor)
    assert audited.status_code == 200
    assert groups(client, code)[0]["status"] == "CREATED"


@pytest.mark.parametrize("query, field", [
    ({}, "orderId"), ({"orderId": "K7QF3M2X", "status": "GONE"}, "status"),
    ({"orderId": "K7QF3M2X", "orderVersion": "x"}, "orderVersion"),
    ({"orderId": "K7QF3M2X", "colour": "red"}, "colour")])
def test_bad_queries_and_bodies_are_refused(client: FlaskClient, query: dict[str, str], field: str) -> None:
    response = client.get("/v1/ticket-distribution-groups", query_string=query, headers=HEADERS)
    assert_problem(response, 400, "VALIDATION_FAILED", field)


def test_unknown_orders_and_groups_and_empty_bodies(client: FlaskClient) -> None:
    missing = client.get("/v1/ticket-distribution-groups", query_string={"orderId": "K7QF3M2X"},
                         headers=HEADERS)
    assert_problem(missing, 404, "ORDER_NOT_FOUND")
    assert_problem(client.post("/v1/ticket-distribution-groups/distribute", headers=HEADERS,
                               json={"ticketDistributionGroupIds": []}),
                   400, "VALIDATION_FAILED", "ticketDistributionGroupIds")
    unknown = client.get(f"/v1/ticket-distribution-groups/{uuid.uuid4()}/events", headers=HEADERS)
    assert_problem(unknown, 404, "TICKET_DISTRIBUTION_GROUP_NOT_FOUND")


def test_a_group_id_of_an_order_is_not_a_group(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, TRONDHEIM_OFFER)
    order_uuid = flask_app.extensions["ordering"].application().get_order(code, 1).id
    assert_problem(distribute(client, str(order_uuid)), 404, "TICKET_DISTRIBUTION_GROUP_NOT_FOUND")


def test_a_refund_cancels_the_refunded_lines_group_and_keeps_the_others(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (kept, refunded) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    follow(flask_app)
    before = live(groups(client, code))
    [option] = [o["id"] for o in options(client, code, orderLineIds=refunded).json["options"]]
    assert refund(client, code, 1, option).status_code == 200  # confirms version 2 in one save
    follow(flask_app)
    items = groups(client, code)
    assert live(items) == {kept: before[kept]}
    gone = next(g for g in items if g["orderLineId"] == refunded)
    assert (gone["status"], gone["orderVersion"]) == ("CANCELLED", 1)
    assert_verified(flask_app)


def test_cancelled_lines_lose_their_groups_once_the_order_is_confirmed_again(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    answer = reserved(client, offer(BERGEN_OFFER, selectedTravellerIds=TRAVELLERS[:2]))
    code, (kept, cancelled) = answer["orderId"], answer["orderLineIds"]
    pay_in_full(client, code)
    follow(flask_app)
    before = live(groups(client, code))
    assert cancel(client, code, cancelled).status_code == 200
    follow(flask_app)
    assert live(groups(client, code)) == before  # version 2 not confirmed yet
    order = get_order(client, code)
    if order["balance"] != "0.00":
        pay_in_full(client, code)
    else:
        assert client.post(f"/v1/orders/{code}/confirm", headers=HEADERS).status_code == 200
    follow(flask_app)
    assert live(groups(client, code)) == {kept: before[kept]}
    assert_verified(flask_app)


def test_a_failed_order_refunded_in_full_never_had_a_group(
        flask_app: Flask, client: FlaskClient, confirmed_by_others: str) -> None:
    code, _ = paid_and_waiting(client, confirmed_by_others)
    assert client.post(f"/v1/orders/{code}/fail", json={}, headers=HEADERS).status_code == 200
    [option] = options(client, code).json["options"]
    assert refund(client, code, 1, option["id"]).status_code == 200
    follow(flask_app)
    assert groups(client, code) == []


def test_distribute_with_an_idempotency_key_replays_its_first_answer(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, TRONDHEIM_OFFER)
    follow(flask_app)
    (group,) = groups(client, code)
    keyed = {**HEADERS, "Idempotency-Key": "distribute-1"}
    first = distribute(client, group["id"], headers=keyed)
    again = distribute(client, group["id"], headers=keyed)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotency-Replayed") == "true" and again.json == first.json


def test_the_change_feed_carries_the_groups_events_naming_the_group(
        flask_app: Flask, client: FlaskClient, catalogue: Catalogue) -> None:
    code, _ = sold(client, BERGEN_OFFER)
    follow(flask_app)
    [group] = groups(client, code)
    assert distribute(client, group["id"]).status_code == 200
    items = client.get("/v1/order-events", headers=HEADERS).json["items"]
    of_groups = [(item["type"], item["ticketDistributionGroupId"]) for item in items
                 if "ticketDistributionGroupId" in item]
    assert of_groups == [("GroupCreated", group["id"]), ("GroupDistributed", group["id"])]
    assert {item["orderId"] for item in items} == {code}
    stranger = client.get("/v1/order-events", headers={**HEADERS, **OTHER_ORGANISATION}).json["items"]
    assert stranger == []
