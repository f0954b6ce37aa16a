"""An event store written by an old release (tests/fixtures/store_v1) loads with the current code:
every order, version, payment, offer and departure as that release reported it, and the read
model rebuilt from its history matches every replayed order."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ordering.bootstrap import Services, build_services, create_schema
from ordering.domain.values import Lock, OrderLine, PaymentRef, SeatReservation, Traveller
from ordering.settings import Settings
from projections import maintenance
from projections.search import parse_query
from tests.builders import context_of
from tests.conftest import FakeClock

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "store_v1"
EXPECTED: dict[str, Any] = json.loads((FIXTURE / "expected.json").read_text())
ORDERS: dict[str, dict[str, Any]] = EXPECTED["orders"]
OLD_VERSIONS = [name for name, facts in ORDERS.items() if "atVersion1" in facts]


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def line_facts(value: Any) -> dict[str, Any]:
    """The one place that reads an order line: through its wire form, as the API shows it."""
    line = value.to_wire()
    return {
        "offerId": line["offerId"],
        "version": line["version"],
        "status": line["status"],
        "amount": money(line["price"]["amount"]),
        "taxAmount": money(line["price"]["taxAmount"]),
        "currency": line["price"]["currency"],
        "travellers": len(line["travellerIds"]),
        "supplements": [s["selectableId"] for s in line["supplementProducts"]],
        "legs": [leg["datedServiceJourneyId"] for leg in line["legs"]],
        "reservations": len(line["reservationIds"]),
        "externalConfirmation": line["externalConfirmation"],
        "externalReference": line["externalReference"],
    }


def order_facts(order: Any) -> dict[str, Any]:
    lines = [line_facts(line) for line in order.lines]
    return {
        "code": order.code,
        "organisationId": order.organisation_id,
        "status": order.status,
        "version": order.order_version,
        "failed": order.failed,
        "locked": order.locked,
        "hasUnconfirmedChanges": order.has_unconfirmed_changes,
        "totalAmount": money(order.total_amount),
        "totalTaxAmount": money(order.total_tax_amount),
        "balance": money(order.balance),
        "linesByStatus": dict(sorted(Counter(line["status"] for line in lines).items())),
        "travellers": len(order.travellers),
        "reservations": len(order.reservations),
        "paymentRefs": len(order.payment_refs),
        "externalReference": order.external_reference,
        "contactInfo": order.contact_info,
        "createdAt": order.created_at.isoformat(),
        "expireAt": order.expire_at.isoformat(),
        "lastConfirmedAt": order.last_confirmed_at.isoformat() if order.last_confirmed_at else None,
        "events": order.version,
        "lines": sorted(lines, key=lambda f: (f["version"], f["offerId"], f["amount"], f["travellers"])),
    }


def without_history(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if k not in ("atVersion1", "beforeReset")}


def old_store_settings(directory: Path) -> Settings:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIXTURE / "orders.sqlite3", directory / "orders.sqlite3")
    return Settings(database_url=f"sqlite:///{directory / 'orders.sqlite3'}", instance_dir=directory)


@pytest.fixture
def old_store(tmp_path: Path) -> Iterator[Services]:
    settings = old_store_settings(tmp_path)
    create_schema(settings)
    built = build_services(settings, FakeClock(datetime.fromisoformat(EXPECTED["clockAtEnd"])))
    yield built
    built.close()


def codes(items: list[dict[str, Any]]) -> set[str]:
    return {item["id"] for item in items}


def search(services: Services, organisation_id: int, text: str) -> set[str]:
    query = parse_query({k: [v] for k, v in (p.split("=", 1) for p in text.split("&"))})
    return codes(services.read_model.search(organisation_id, query)["items"])


def test_creating_the_schema_on_the_old_events_file_keeps_every_event(tmp_path: Path) -> None:
    settings = old_store_settings(tmp_path)
    create_schema(settings)
    create_schema(settings)
    services = build_services(settings, FakeClock())
    try:
        assert services.application.recorder.max_notification_id() == EXPECTED["notifications"]
    finally:
        services.close()


def test_every_event_in_the_old_store_decodes_with_the_current_code(old_store: Services) -> None:
    application = old_store.application
    notifications = application.recorder.select_notifications(start=1, limit=10_000)
    assert len(notifications) == EXPECTED["notifications"]
    for notification in notifications:
        assert application.mapper.to_domain_event(notification) is not None, notification.topic


def test_old_events_and_snapshots_written_as_dicts_come_back_as_typed_values(old_store: Services) -> None:
    application = old_store.application
    stored = [n for n in application.recorder.select_notifications(start=1, limit=10_000)
              if n.topic == "ordering.order:Order.OrderLineAdded"]  # the module before the move
    line_added = [application.mapper.to_domain_event(n) for n in stored]
    assert line_added and all(b'"class_version"' not in n.state for n in stored)  # written as v1
    for event in line_added:
        assert isinstance(event.line, OrderLine)  # type: ignore[attr-defined]
        assert all(isinstance(t, Traveller) for t in event.travellers)  # type: ignore[attr-defined]
        assert all(isinstance(r, SeatReservation) for r in event.reservations)  # type: ignore[attr-defined]
    locked = application.get_order(ORDERS["locked"]["code"], None)
    assert isinstance(locked.lock, Lock)
    from_snapshot = application.get_order(ORDERS["long_history"]["code"], None)
    assert all(isinstance(line, OrderLine) for line in from_snapshot.lines)
    assert all(isinstance(line, OrderLine) for line in from_snapshot.last_confirmed_state["lines"])
    assert all(isinstance(ref, PaymentRef) for ref in from_snapshot.payment_refs)


@pytest.mark.parametrize("name", ORDERS)
def test_an_old_order_loads_with_the_facts_its_release_wrote(old_store: Services, name: str) -> None:
    expected = ORDERS[name]
    order = old_store.application.get_order(expected["code"], expected["organisationId"])
    assert order_facts(order) == without_history(expected)


@pytest.mark.parametrize("name", OLD_VERSIONS)
def test_an_old_orders_first_confirmed_version_loads_as_it_was(old_store: Services, name: str) -> None:
    expected = ORDERS[name]["atVersion1"]
    order = old_store.application.get_order(expected["code"], None, version=1)
    assert order_facts(order) == expected


def test_the_long_old_order_loads_from_its_snapshot_and_replays_to_the_same_state(
    old_store: Services,
) -> None:
    application, expected = old_store.application, ORDERS["long_history"]
    order = application.get_order(expected["code"], 1)
    snapshots = [s.originator_version for s in application.snapshots.get(order.id)]
    assert snapshots == EXPECTED["snapshotVersionsOfLongHistory"]
    trail = application.order_trail(expected["code"], 1)
    assert len(trail) == expected["events"]
    assert trail[-1].event.changes == {"external_reference": expected["externalReference"]}  # type: ignore[attr-defined]


def test_old_payments_load_with_their_status_and_amount(old_store: Services) -> None:
    for name, expected in EXPECTED["payments"].items():
        payment = old_store.application.get_payment(expected["id"], 1)
        assert {"id": payment.payment_id, "orderId": payment.order_id,
                "orderVersion": payment.order_version, "status": payment.status,
                "amount": money(payment.amount), "currency": payment.currency,
                "paymentType": payment.payment_type} == expected, name


def test_old_offers_and_departure_availability_load(old_store: Services) -> None:
    application = old_store.application
    assert [offer.offer_id for offer in application.list_offers()] == EXPECTED["offerIds"]
    for offer_id in EXPECTED["offerIds"]:
        assert application.get_offer(offer_id).offer_id == offer_id
    for journey, availability in EXPECTED["departures"].items():
        assert application.availability(journey).to_wire() == availability


def test_seats_the_old_release_held_as_departure_events_are_adopted_and_given_back_once(
    old_store: Services,
) -> None:
    application = old_store.application
    journey, bergen = "NSB:DatedServiceJourney:601-bergen", ORDERS["confirmed_bergen"]["code"]
    order = application.get_order(bergen, 1)
    holds = application.seat_holds(journey)  # the first look adopts the departure's own holds
    assert sorted(holds) == sorted(r.id for r in order.reservations)
    assert {hold.order_code for hold in holds.values()} == {bergen}

    line = order.active_lines[0]
    application.cancel_order_lines(context_of(1), bergen, [line.id], "travel plans changed")
    application.confirm_order(bergen, context_of(1))
    assert application.availability(journey).to_wire() == {"capacity": 12, "reserved": 1, "available": 11}
    assert sorted(application.seat_holds(journey)) == [
        r.id for r in order.reservations if r.order_line_id != line.id]


def test_the_read_model_rebuilt_from_the_old_history_matches_every_replayed_order(
    old_store: Services,
) -> None:
    report = maintenance.rebuild(old_store.read_model, progress=lambda p, h: None)
    assert report.events > 0
    problems: list[str] = []
    assert maintenance.verify(old_store.read_model, problems.append) == 0, problems
    assert search(old_store, 1, "perPage=100") == {
        facts["code"] for facts in ORDERS.values() if facts["organisationId"] == 1}


def test_a_search_of_the_old_store_finds_its_orders(old_store: Services) -> None:
    old_store.read_model.catch_up()
    assert search(old_store, 1, "perPage=100") == {
        facts["code"] for facts in ORDERS.values() if facts["organisationId"] == 1}
    assert search(old_store, 2, "perPage=100") == {ORDERS["other_organisation"]["code"]}
    assert search(old_store, 1, "externalReference=crm-4711") == {ORDERS["updated_header"]["code"]}
    assert search(old_store, 1, "contact=kari@example.no") == {ORDERS["updated_header"]["code"]}
    assert search(old_store, 1, "status=CONFIRMED&perPage=100") == {
        facts["code"] for facts in ORDERS.values()
        if facts["organisationId"] == 1 and facts["status"] == "CONFIRMED"}
    assert search(old_store, 1, "version=2") == {ORDERS["two_versions"]["code"]}
    assert search(old_store, 1, f"datedServiceJourneyId={next(iter(EXPECTED['departures']))}") == {
        ORDERS["confirmed_bergen"]["code"]}
