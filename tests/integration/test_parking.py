"""No single event can stop a projection: what cannot be applied is parked, reported, retried."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eventsourcing.persistence import StoredEvent
from flask import Flask

from ordering.bootstrap import Services
from ordering.scheduling import sweep
from projections import maintenance, orders
from tests.builders import a_line, context_of
from tests.conftest import FakeClock
from tests.integration.test_projection import search_all

CTX = context_of(1)


def a_poisoned_order(services: Services) -> str:
    """An order followed by an event no code can decode (a class that never existed)."""
    order = services.application.create_order(CTX, external_reference="poisoned")
    services.application.recorder.insert_events([StoredEvent(
        originator_id=order.id, originator_version=order.version + 1,
        topic="ordering.domain.order:Order.NeverWritten", state=b"{}")])
    return order.code


def test_an_undecodable_event_is_parked_and_every_other_order_still_projects(services: Services) -> None:
    before = services.application.create_order(CTX, external_reference="before").code
    poisoned = a_poisoned_order(services)
    after = services.application.create_order(CTX, external_reference="after").code
    services.read_model.catch_up()
    assert {o["id"] for o in search_all(services, "perPage=100")} >= {before, after}
    parked = services.read_model.parked()
    assert [p.aggregate_id for p in parked] and "NeverWritten" in parked[0].reason
    assert services.read_model.health()["parked"] == 1
    status = maintenance.status(services.read_model)
    assert status["lag"] == 0 and status["parked"][0]["notificationId"] == parked[0].notification_id
    lines: list[str] = []
    assert maintenance.verify(services.read_model, lines.append) == 1
    assert any(poisoned in line and "cannot be replayed" in line for line in lines), lines
    assert any("parked at notification" in line for line in lines), lines


def test_a_rebuild_parks_the_same_event_and_finishes(services: Services) -> None:
    a_poisoned_order(services)
    services.application.create_order(CTX)
    report = maintenance.rebuild(services.read_model, lambda *_: None, batch_size=2)
    assert report.generation == 2 and len(services.read_model.parked()) == 1
    assert len(search_all(services, "perPage=100")) == 2


def test_a_row_the_read_model_refuses_is_parked_then_retried_once_fixed(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    good = services.application.create_order(CTX, external_reference="good").code
    real_row = orders.order_row

    def refuse_one(order: orders.Order) -> tuple[object, ...]:
        if order.external_reference == "refused":
            raise ValueError("this release cannot project it")
        return real_row(order)

    monkeypatch.setattr(orders, "order_row", refuse_one)
    refused = services.application.create_order(CTX, external_reference="refused").code
    also_good = services.application.create_order(CTX, external_reference="also good").code
    services.read_model.catch_up()
    found = {o["id"] for o in search_all(services, "perPage=100")}
    assert {good, also_good} <= found and refused not in found
    assert [p.order_id for p in services.read_model.parked()] == [refused]
    assert maintenance.retry_parked(services.read_model)[0] == 0  # not fixed yet: still parked
    monkeypatch.setattr(orders, "order_row", real_row)  # the fix is deployed
    fixed, still = maintenance.retry_parked(services.read_model)
    assert (fixed, still) == (1, [])
    assert refused in {o["id"] for o in search_all(services, "perPage=100")}
    assert maintenance.verify(services.read_model, lambda _: None) == 0


@pytest.mark.postgres
def test_a_nul_stored_before_the_boundary_refused_it_projects_and_expiry_goes_on(
        postgres_services: Services, clock: FakeClock) -> None:
    services = postgres_services
    legacy = services.application.create_order(CTX, external_reference="nul\u0000here").code
    due = services.application.create_order(CTX).code
    services.application._change(due, CTX, lambda o: o.add_lines(
        [a_line()], clock(), clock() + timedelta(minutes=1), CTX.as_event_data()))
    clock.advance(minutes=2)
    assert sweep(services, clock()).expired == 1
    assert services.read_model.parked() == []
    assert [o["externalReference"] for o in search_all(services, f"id={legacy}")] == ["nul\u0000here"]
    assert maintenance.verify(services.read_model, lambda _: None) == 0


@pytest.mark.postgres
def test_on_postgres_a_refused_row_does_not_hold_back_the_rest_of_its_batch(
        postgres_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    services = postgres_services
    monkeypatch.setattr(orders, "storable", lambda text: text)  # as the release before the fix
    services.application.after_save.clear()  # let one catch-up see every order in one batch
    codes = [services.application.create_order(CTX, external_reference=ref).code
             for ref in ("one", "nul\u0000two", "three")]
    services.read_model.catch_up()
    parked = services.read_model.parked()
    assert [p.order_id for p in parked] == [codes[1]] and "NUL" in parked[0].reason
    assert {o["id"] for o in search_all(services, "perPage=100")} == {codes[0], codes[2]}
    monkeypatch.undo()
    assert maintenance.retry_parked(services.read_model) == (1, [])


def test_readiness_says_degraded_while_an_order_is_parked(flask_app: Flask) -> None:
    services = flask_app.extensions["ordering"].services()
    a_poisoned_order(services)
    services.read_model.catch_up()
    ready = flask_app.test_client().get("/health/ready")
    assert ready.status_code == 200
    assert ready.json["status"] == "DEGRADED" and ready.json["readModel"]["parkedOrders"] == 1
