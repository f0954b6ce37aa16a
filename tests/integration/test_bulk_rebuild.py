"""A rebuild reads the log in pages and writes rows in bulk: whatever the page size, it ends
with exactly the rows the live projection wrote event by event, counts each event once across
an interruption, and parks what it cannot apply without stopping."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from ordering.bootstrap import Services
from projections import maintenance, orders
from projections.schema import ORDER_COLUMNS, generation_tables, orders_table, terms_table
from tests.builders import a_line, captured, context_of
from tests.integration.test_projection import search_all

CTX = context_of(1)
QUERIES = ["perPage=100", "externalReference=ref-1", "contact=2@example.no", "status=CONFIRMED",
           "orderBy=id&sortBy=desc"]


def interleaved_history(services: Services, count: int = 6) -> list[str]:
    """Orders whose events lie far apart in the log (each step is taken for every order in
    turn); the live projection follows every command, as the follower would."""
    application, read_model = services.application, services.read_model
    codes = [application.create_order(CTX, external_reference=f"ref-{n % 3}").code for n in range(count)]
    read_model.catch_up()
    now, ctx = application.clock(), CTX.as_event_data()
    due = now + timedelta(minutes=20)
    for code in codes:
        application._change(code, CTX, lambda o: o.add_lines([a_line(seats=1)], now, due, ctx))
        read_model.catch_up()
    for code in codes[::2]:
        application._change(code, CTX, lambda o: o.register_capture(captured(str(o.balance)), now, ctx))
        read_model.catch_up()
    for n, code in enumerate(codes):
        application.update_order(code, CTX, {"contact_info": {"email": f"{n}@example.no"}})
        read_model.catch_up()
    return codes


def rows_of(services: Services, generation: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM {orders_table(generation)} ORDER BY id")
        rows = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(f"SELECT order_id, field, text_value, num_value FROM {terms_table(generation)}")
        terms = sorted((tuple(row) for row in cursor.fetchall()), key=repr)
    return rows, terms


def test_a_rebuild_in_small_pages_writes_exactly_the_rows_the_live_projection_wrote(
        services: Services) -> None:
    interleaved_history(services)
    live_rows, live_answers = rows_of(services, 1), [search_all(services, q) for q in QUERIES]
    head = services.application.recorder.max_notification_id()
    report = maintenance.rebuild(services.read_model, lambda *_: None, batch_size=4)
    assert report.generation == 2 and report.events == head
    assert rows_of(services, 2) == live_rows
    assert [search_all(services, q) for q in QUERIES] == live_answers
    assert maintenance.verify(services.read_model, lambda _: None) == 0


def test_a_rebuild_that_dies_inside_a_page_resumes_without_losing_or_doubling_an_event(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    codes = interleaved_history(services)
    live_rows = rows_of(services, 1)
    real_park, calls = orders.park, [0]

    def die_in_the_third_page(*args: Any) -> None:
        calls[0] += 1
        if calls[0] == 3:  # that page's rows are written, its position not yet
            raise KeyboardInterrupt
        real_park(*args)

    monkeypatch.setattr(orders, "park", die_in_the_third_page)
    with contextlib.suppress(KeyboardInterrupt):
        maintenance.rebuild(services.read_model, lambda *_: None, batch_size=5)
    monkeypatch.undo()
    position = next(g for g in maintenance.status(services.read_model)["generations"] if g["generation"] == 2)
    assert position == {"generation": 2, "position": 10, "eventsApplied": 10, "state": "building"}
    services.application.update_order(codes[0], CTX, {"external_reference": "changed meanwhile"})
    report = maintenance.rebuild(services.read_model, lambda *_: None, batch_size=5)
    head = services.application.recorder.max_notification_id()
    assert report.generation == 2 and report.events == head - 10
    generations = maintenance.status(services.read_model)["generations"]
    assert generations == [{"generation": 2, "position": head, "eventsApplied": head, "state": "live"}]
    rows, terms = rows_of(services, 2)
    assert terms == live_rows[1] and len(rows) == len(live_rows[0])
    assert [o["id"] for o in search_all(services, "externalReference=changed meanwhile")] == [codes[0]]
    assert maintenance.verify(services.read_model, lambda _: None) == 0


def test_an_undecodable_event_in_an_order_spanning_pages_is_parked_and_the_rebuild_goes_on(
        services: Services) -> None:
    codes = interleaved_history(services, count=4)
    poisoned = services.application.get_order(codes[1], None)
    services.application.recorder.insert_events([StoredEvent(
        originator_id=poisoned.id, originator_version=poisoned.version + 1,
        topic="ordering.domain.order:Order.NeverWritten", state=b"{}")])
    later = services.application.create_order(CTX, external_reference="after the poison").code
    report = maintenance.rebuild(services.read_model, lambda *_: None, batch_size=3)
    assert report.generation == 2
    parked = services.read_model.parked()
    assert [p.order_id or p.aggregate_id for p in parked] in ([codes[1]], [str(poisoned.id)])
    assert "NeverWritten" in parked[0].reason
    found = {o["id"] for o in search_all(services, "perPage=100")}
    assert found == {*codes, later}  # the poisoned order keeps the row it had before the event
    row = search_all(services, f"id={codes[1]}")[0]
    assert row["contactInfo"] == {"email": "1@example.no"} and row["version"] == poisoned.order_version


@pytest.mark.postgres
def test_on_postgres_a_row_copy_refuses_is_parked_and_the_rest_of_its_page_is_written(
        postgres_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    services = postgres_services
    codes = [services.application.create_order(CTX, external_reference=ref).code
             for ref in ("one", "nul\u0000two", "three", "four")]
    services.read_model.catch_up()
    monkeypatch.setattr(orders, "storable", lambda text: text)  # as the release before the fix
    report = maintenance.rebuild(services.read_model, lambda *_: None, batch_size=3)
    assert report.generation == 2
    parked = services.read_model.parked()
    assert [p.order_id for p in parked] == [codes[1]] and "NUL" in parked[0].reason
    assert {o["id"] for o in search_all(services, "perPage=100")} == {codes[0], codes[2], codes[3]}
    monkeypatch.undo()
    assert maintenance.retry_parked(services.read_model) == (1, [])
    assert maintenance.verify(services.read_model, lambda _: None) == 0


@pytest.mark.postgres
def test_a_rebuilt_generation_is_vacuumed_and_analysed_before_searches_read_it(
        postgres_services: Services) -> None:
    interleaved_history(postgres_services, count=2)
    report = maintenance.rebuild(postgres_services.read_model, lambda *_: None)
    with postgres_services.read_model.database.transaction() as cursor:
        cursor.execute("SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                       "AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL")
        done = {row[0] for row in cursor.fetchall()}
    assert set(generation_tables(report.generation)) <= done
