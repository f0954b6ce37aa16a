"""The read model is disposable: rebuilt from history it answers the same; replay verifies it;
several processes advancing it at once apply each event exactly once."""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
from typing import Any

from ordering.bootstrap import Services, build_services
from ordering.settings import Settings
from projections import maintenance
from projections.schema import orders_table
from projections.search import parse_query
from tests.builders import context_of

CTX = context_of(1)


def make_orders(services: Services, count: int) -> list[str]:
    codes = []
    for n in range(count):
        code = services.application.create_order(CTX, external_reference=f"ref-{n % 3}").code
        services.application.update_order(code, CTX, {"contact_info": {"email": f"{n}@example.no"}})
        codes.append(code)
    return codes


def search_all(services: Services, text: str) -> list[Any]:
    query = parse_query({k: [v] for k, v in (p.split("=", 1) for p in text.split("&"))})
    return services.read_model.search(1, query)["items"]


def test_a_rebuilt_read_model_answers_exactly_as_the_live_one(services: Services) -> None:
    make_orders(services, 12)
    queries = ["perPage=100", "externalReference=ref-1", "contact=3@example.no", "orderBy=id&sortBy=desc"]
    live = [search_all(services, q) for q in queries]
    progress: list[tuple[int, int]] = []
    report = maintenance.rebuild(services.read_model, lambda pos, head: progress.append((pos, head)),
                                 batch_size=5)
    assert report.generation == 2 and report.events == 24
    assert progress[-1] == (24, 24)
    assert [search_all(services, q) for q in queries] == live
    status = maintenance.status(services.read_model)
    assert status["generations"] == [{"generation": 2, "position": 24, "eventsApplied": 24, "state": "live"}]


def test_an_interrupted_rebuild_resumes_and_changes_meanwhile_are_not_lost(services: Services) -> None:
    make_orders(services, 6)

    def interrupt(position: int, head: int) -> None:
        if position >= 4:
            raise KeyboardInterrupt

    with contextlib.suppress(KeyboardInterrupt):
        maintenance.rebuild(services.read_model, interrupt, batch_size=2)
    assert len(search_all(services, "perPage=100")) == 6  # the live generation still serves
    added = make_orders(services, 2)
    report = maintenance.rebuild(services.read_model, lambda *_: None, batch_size=2)
    assert report.generation == 2 and report.events == 16 - 4
    found = {o["id"] for o in search_all(services, "perPage=100")}
    assert len(found) == 8 and set(added) <= found
    assert maintenance.verify(services.read_model, lambda _: None) == 0


def test_verify_reports_a_row_altered_by_hand(services: Services) -> None:
    codes = make_orders(services, 3)
    assert maintenance.verify(services.read_model, lambda _: None) == 0
    with services.read_model.database.transaction(write=True) as cursor:
        cursor.execute(f"UPDATE {orders_table(1)} SET balance = 999 WHERE id = ?", (codes[1],))
        cursor.execute(f"DELETE FROM {orders_table(1)} WHERE id = ?", (codes[2],))
    reports: list[str] = []
    assert maintenance.verify(services.read_model, reports.append) == 2
    assert sorted(reports) == sorted([f"{codes[1]}: read model differs from the replayed order in balance",
                                      f"{codes[2]}: missing from the read model"])


def advance_projection_repeatedly(settings: Settings, rounds: int) -> None:
    """Runs in another process: a second service instance advancing the same projection."""
    services = build_services(settings)
    try:
        for _ in range(rounds):
            services.read_model.catch_up()
    finally:
        services.close()


def test_processes_advancing_the_projection_at_once_apply_each_event_exactly_once(
    settings: Settings, services: Services
) -> None:
    services.application.after_save.clear()  # only the racing processes move the projection
    spawn = multiprocessing.get_context("spawn")
    racers = [spawn.Process(target=advance_projection_repeatedly, args=(settings, 150)) for _ in range(2)]
    for racer in racers:
        racer.start()
    writer = threading.Thread(target=make_orders, args=(services, 40))
    writer.start()
    writer.join()
    for racer in racers:
        racer.join(timeout=120)
        assert racer.exitcode == 0
    services.read_model.catch_up()
    position, head = services.read_model.position()
    status = maintenance.status(services.read_model)
    assert position == head == 80
    assert status["generations"][0]["eventsApplied"] == 80  # not one event counted twice or skipped
    assert maintenance.verify(services.read_model, lambda _: None) == 0
