"""The change feed over the event store, on SQLite and PostgreSQL: one organisation's order events,
in store order, each exactly once however pages and concurrent writers interleave."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest

from ordering.application import OrderingApplication
from ordering.application.feed import FeedEntry, FeedPage, decode_cursor, encode_cursor
from ordering.bootstrap import Services, build_services, create_schema
from ordering.domain.errors import ConcurrentModification, InvalidRequest
from ordering.domain.order import Order
from ordering.representation.audit import trail_json
from ordering.representation.feed import feed_item_json
from tests.builders import context_of
from tests.conftest import FakeClock
from tests.integration.test_old_store import EXPECTED, OLD_VERSIONS, ORDERS, old_store_settings

WRITERS = 8
WRITES_EACH = 12


def create(application: OrderingApplication, organisation_id: int = 1) -> str:
    return application.create_order(context_of(organisation_id)).code


def touch(application: OrderingApplication, code: str, organisation_id: int, text: str) -> None:
    application.update_order(code, context_of(organisation_id), {"external_reference": text})


def every_page(application: OrderingApplication, organisation_id: int = 1, after: str | None = None,
               limit: int = 100) -> tuple[list[FeedEntry], str]:
    """Pages with ``next`` until an empty page: every entry seen, and the last ``next``."""
    seen: list[FeedEntry] = []
    while True:
        page = application.order_events(organisation_id, after, limit)
        seen.extend(page.entries)
        if not page.entries:
            return seen, page.next_cursor
        after = page.next_cursor


def keys(entries: list[FeedEntry]) -> list[tuple[str, int]]:
    return [(entry.public_id, entry.entry.sequence) for entry in entries]


def store_order_events(application: OrderingApplication, organisation_id: int) -> list[tuple[str, int]]:
    """What the feed must show, read straight from the notification log."""
    owners: dict[UUID, Order] = {}
    expected: list[tuple[str, int]] = []
    for notification in application.recorder.select_notifications(start=1, limit=1_000_000):
        if ":Order." not in notification.topic:
            continue
        order_id = UUID(str(notification.originator_id))
        if order_id not in owners:
            owners[order_id] = application.repository.get(order_id)
        if owners[order_id].organisation_id == organisation_id:
            expected.append((owners[order_id].code, notification.originator_version))
    return expected


def test_a_page_holds_only_the_organisations_order_events_as_the_audit_trail_shows_them(
        application: OrderingApplication) -> None:
    ours = create(application, 1)
    theirs = create(application, 2)
    touch(application, ours, 1, "mine")
    touch(application, theirs, 2, "theirs")
    application.set_capacity("NSB:DatedServiceJourney:feed-test", 3)  # not an order's event
    page = application.order_events(1, None)
    assert keys(page.entries) == [(ours, 1), (ours, 2)]
    trail = trail_json(ours, application.order_trail(ours, 1))["events"]
    for entry, event in zip(page.entries, trail, strict=True):
        item = feed_item_json(entry)
        assert item.pop("orderId") == ours and decode_cursor(item.pop("cursor"), 1) > 0
        assert item == event
    assert keys(application.order_events(2, None).entries) == [(theirs, 1), (theirs, 2)]
    assert application.order_events(3, None).entries == []


def test_paging_with_next_sees_every_event_once_and_an_empty_page_answers_the_cursor_sent(
        application: OrderingApplication) -> None:
    codes = [create(application, 1 + n % 2) for n in range(6)]
    for n, code in enumerate(codes):
        touch(application, code, 1 + n % 2, f"ref-{n}")
    seen, last = every_page(application, 1, limit=2)
    assert keys(seen) == store_order_events(application, 1)
    assert len(seen) == 6
    page = application.order_events(1, last)
    assert (page.entries, page.next_cursor) == ([], last)
    touch(application, codes[0], 1, "later")
    assert keys(application.order_events(1, last).entries) == [(codes[0], 3)]


def test_a_quiet_organisation_polling_one_cursor_while_others_write_sees_its_event_once(
        application: OrderingApplication) -> None:
    create(application, 3)
    cursor = application.order_events(3, None).next_cursor
    busy = create(application, 1)
    for round_ in range(3):
        touch(application, busy, 1, f"busy {round_}")
        assert application.order_events(3, cursor) == FeedPage([], cursor)
    quiet = create(application, 3)
    touch(application, busy, 1, "busy again")
    assert keys(application.order_events(3, cursor).entries) == [(quiet, 1)]


def test_an_items_cursor_continues_right_after_it(application: OrderingApplication) -> None:
    code = create(application)
    for n in range(3):
        touch(application, code, 1, f"ref-{n}")
    first = application.order_events(1, None).entries
    after_second = application.order_events(1, first[1].cursor).entries
    assert keys(after_second) == keys(first[2:])


def test_after_end_starts_after_the_newest_event(application: OrderingApplication) -> None:
    code = create(application)
    empty = application.order_events(1, "end")
    assert empty.entries == []
    touch(application, code, 1, "after the end")
    assert keys(application.order_events(1, empty.next_cursor).entries) == [(code, 2)]
    beginning = application.order_events(3, None)  # an organisation without events: the end too
    assert beginning.entries == [] and decode_cursor(beginning.next_cursor, 3) > 0


@pytest.mark.parametrize("cursor", ["", "nonsense", "MS4x.00000000", encode_cursor(1, 10)[:-1] + "x",
                                    encode_cursor(1, 10**9), encode_cursor(2, 1)])
def test_a_malformed_unknown_or_other_organisations_cursor_is_refused(
        application: OrderingApplication, cursor: str) -> None:
    create(application)
    with pytest.raises(InvalidRequest) as refused:
        application.order_events(1, cursor)
    assert refused.value.field == "after"


def test_a_waiting_page_answers_as_soon_as_an_event_arrives(application: OrderingApplication) -> None:
    code = create(application)
    now = application.order_events(1, "end")
    writer = threading.Timer(0.3, touch, (application, code, 1, "while waiting"))
    writer.start()
    page = application.order_events(1, now.next_cursor, wait_seconds=20)
    writer.join()
    assert keys(page.entries) == [(code, 2)]


def test_a_reader_paging_while_eight_writers_commit_sees_every_event_exactly_once(
        application: OrderingApplication) -> None:
    shared = [create(application, 1) for _ in range(3)]  # updated by every writer: conflicts, retries
    start = threading.Barrier(WRITERS + 1)
    writing = threading.Event()
    writing.set()

    def write(number: int) -> None:
        start.wait()
        organisation = 1 + number % 2
        for step in range(WRITES_EACH):
            code = create(application, organisation)
            touch(application, code, organisation, f"w{number}-{step}")
            with contextlib.suppress(ConcurrentModification):  # all retries lost: no event
                touch(application, shared[step % len(shared)], 1, f"shared {number}-{step}")

    seen: list[FeedEntry] = []

    def read() -> None:
        after: str | None = None
        start.wait()
        while writing.is_set():
            page = application.order_events(1, after, limit=7)
            seen.extend(page.entries)
            after = page.next_cursor
            time.sleep(0.001)
        rest, _ = every_page(application, 1, after, limit=7)
        seen.extend(rest)

    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    reader.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    reader.join()
    expected = store_order_events(application, 1)
    assert len(expected) >= 3 + WRITERS // 2 * WRITES_EACH * 2
    assert keys(seen) == expected


@pytest.fixture
def earlier_store(tmp_path: Path) -> Iterator[Services]:
    settings = old_store_settings(tmp_path)
    create_schema(settings)
    built = build_services(settings, FakeClock(datetime.fromisoformat(EXPECTED["clockAtEnd"])))
    yield built
    built.close()


def test_the_feed_and_the_diff_read_a_store_written_by_an_earlier_release(earlier_store: Services) -> None:
    application = earlier_store.application
    for organisation_id in {facts["organisationId"] for facts in ORDERS.values()}:
        seen, _ = every_page(application, organisation_id, limit=50)
        assert keys(seen) == store_order_events(application, organisation_id)
        mine = [facts for facts in ORDERS.values() if facts["organisationId"] == organisation_id]
        assert Counter(entry.public_id for entry in seen) == {f["code"]: f["events"] for f in mine}
    for name in OLD_VERSIONS:
        code = ORDERS[name]["code"]
        current = application.get_order(code, None)
        if current.order_version > 1:
            diff = application.order_changes(code, None, 1, current.order_version)
            assert diff.totals_after.total_amount == current.total_amount
