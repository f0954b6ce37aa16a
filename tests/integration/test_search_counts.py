"""Broad searches count from per-day counts that triggers keep beside the rows, and deep pages
sorted by ``createdAt`` seek to their day first. Either way every page and ``totalItems`` are
exactly those of a straightforward query, on both backends: as orders are projected and
confirmed, when rows are written or deleted by hand, and on a store made before the counts.
Searches the counts cannot answer (line-level terms, amounts) are held to the same."""

from __future__ import annotations

import importlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ordering.bootstrap import Services, create_schema
from ordering.domain.order import Order
from ordering.domain.order_ids import new_order_code
from ordering.settings import Settings
from projections.schema import (
    DAY_MICROS,
    ORDER_COLUMNS,
    counts_table,
    day_bounds,
    generation_tables,
    orders_table,
)
from projections.search import parse_query
from tests.builders import a_line, captured, context_of

SEARCH = importlib.import_module("projections.search")  # the package exports a function of that name
T0 = datetime(2026, 10, 30, 21, 0, tzinfo=UTC)
PER_PAGE = 7
# (query string, the same filter as SQL on the rows)
QUERIES = [
    ("", "TRUE"),
    ("status=CONFIRMED", "status = 'CONFIRMED'"),
    ("status=ne:CONFIRMED", "status <> 'CONFIRMED'"),
    ("status=in:DRAFT,CONFIRMED", "TRUE"),
    ("status=nin:DRAFT", "status <> 'DRAFT'"),
    ("organisationId=1&status=DRAFT", "status = 'DRAFT'"),
    ("organisationId=2", "FALSE"),
    ("salesPackageId=NSB:SalesPackage:Ordinary&status=DRAFT", "status = 'DRAFT'"),  # through the terms
    ("totalAmount=gte:100.00&status=CONFIRMED", "total_amount >= 10000 AND status = 'CONFIRMED'"),
]


def an_order(n: int, organisation_id: int) -> Order:
    at = T0 + timedelta(hours=5 * n, seconds=n % 3)
    context = context_of(organisation_id).as_event_data()
    order = Order(code=new_order_code(), organisation_id=organisation_id, created_by="tester",
                  pos="Entur-APP", distribution_channel_id="web", currency="NOK", created_at=at,
                  expire_at=at + timedelta(minutes=20), expire_at_set_by_client=False,
                  contact_info=None, external_reference=f"n-{n}", context=context)
    order.add_lines([a_line("100.00")], at, at + timedelta(minutes=20), context)
    return order


def confirm(order: Order) -> None:
    order.register_capture(captured(str(order.balance)), order.created_at,
                           context_of(order.organisation_id).as_event_data())


def add_orders(services: Services, first: int, count: int) -> list[Order]:
    """Orders five hours apart (so several a day), a quarter of another organisation's, most
    confirmed."""
    orders = [an_order(n, 2 if n % 4 == 3 else 1) for n in range(first, first + count)]
    for order in orders:
        if order.created_at.hour % 5 != 1:
            confirm(order)
    services.application.save(*orders)
    return orders


def plain(services: Services, sql_filter: str, descending: bool) -> list[str]:
    direction = "DESC" if descending else "ASC"
    generation = services.read_model.projector.active_generation()
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT id FROM {orders_table(generation)} WHERE organisation_id = 1 AND "
                       f"{sql_filter} ORDER BY created_at {direction}, id {direction}")
        return [row[0] for row in cursor.fetchall()]


def walk(services: Services, text: str, descending: bool) -> tuple[list[str], set[int]]:
    """Every page (and one past the last): the ids in order, and each page's totalItems."""
    args: dict[str, list[str]] = {"perPage": [str(PER_PAGE)], "sortBy": ["desc" if descending else "asc"]}
    for part in filter(None, text.split("&")):
        name, value = part.split("=", 1)
        args[name] = [value]
    found: list[str] = []
    totals: set[int] = set()
    page, pages = 1, 1
    while page <= pages + 1:
        answer = services.read_model.search(1, parse_query(args | {"page": [str(page)]}))
        found += [item["id"] for item in answer["items"]]
        totals.add(answer["totalItems"])
        pages = max(answer["totalPages"], 1)
        assert answer["totalPages"] == math.ceil(answer["totalItems"] / PER_PAGE)
        page += 1
    return found, totals


def assert_exact(services: Services) -> None:
    services.read_model.settle()  # what the searches see, the plain query sees too
    for text, sql_filter in QUERIES:
        for descending in (False, True):
            expected = plain(services, sql_filter, descending)
            found, totals = walk(services, text, descending)
            assert (found, totals) == (expected, {len(expected)}), (text, descending)


def counts_by_grouping(services: Services) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    """(the counts table, the same counted from the rows), zero counts left out."""
    generation = services.read_model.projector.active_generation()
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT organisation_id, status, day, n FROM {counts_table(generation)} WHERE n <> 0")
        kept = {tuple(row) for row in cursor.fetchall()}
        cursor.execute(f"SELECT organisation_id, status, created_at / {DAY_MICROS}, COUNT(*) "
                       f"FROM {orders_table(generation)} GROUP BY organisation_id, status, created_at / "
                       f"{DAY_MICROS}")
        counted = {tuple(row) for row in cursor.fetchall()}
    return kept, counted


@pytest.fixture(params=[0, 500], ids=["seek-every-page", "seek-deep-pages-only"])
def seek_from(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """With 0, even the second page seeks to its day: these few orders cross every path."""
    monkeypatch.setattr(SEARCH, "SEEK_FROM", request.param)
    return int(request.param)


def test_broad_searches_page_and_count_as_a_plain_query_while_orders_are_projected(
    services: Services, seek_from: int
) -> None:
    first = add_orders(services, 0, 40)
    assert_exact(services)
    add_orders(services, 40, 25)
    drafts = [o for o in first if o.status == "DRAFT"]
    for order in drafts[:4]:
        confirm(order)
    services.application.save(*drafts[:4])
    assert_exact(services)
    kept, counted = counts_by_grouping(services)
    assert kept == counted


def test_counts_follow_rows_written_changed_and_deleted_by_hand(services: Services) -> None:
    add_orders(services, 0, 30)
    services.read_model.catch_up()
    generation = services.read_model.projector.active_generation()
    table = orders_table(generation)
    with services.read_model.database.transaction(write=True) as cursor:
        cursor.execute(f"UPDATE {table} SET status = 'DRAFT' WHERE status = 'CONFIRMED' AND balance = 0 "
                       "AND external_reference IN ('n-2', 'n-3', 'n-4')")
        cursor.execute(f"UPDATE {table} SET created_at = created_at + {3 * DAY_MICROS} "
                       "WHERE external_reference IN ('n-5', 'n-6')")
        cursor.execute(f"DELETE FROM {table} WHERE external_reference IN ('n-7', 'n-8', 'n-20')")
        renamed = {"id": "id || 'X'", "document": "replace(document, id, id || 'X')"}
        copied = ", ".join(renamed.get(c, c) for c in ORDER_COLUMNS)
        cursor.execute(f"INSERT INTO {table} ({', '.join(ORDER_COLUMNS)}) SELECT {copied} FROM {table} "
                       "WHERE substr(external_reference, 1, 3) = 'n-1'")
    kept, counted = counts_by_grouping(services)
    assert kept == counted
    assert_exact(services)


def test_a_store_made_before_the_counts_gets_them_from_its_rows_at_init_db(
    settings: Settings, services: Services
) -> None:
    add_orders(services, 0, 30)
    services.read_model.catch_up()
    generation = services.read_model.projector.active_generation()
    with services.read_model.database.transaction(write=True) as cursor:  # as an earlier release left it
        cursor.execute(f"DROP TABLE {counts_table(generation)}")
        if services.read_model.database.postgres:
            cursor.execute(f"DROP FUNCTION {counts_table(generation)}_apply() CASCADE")
        else:
            for kind in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER {orders_table(generation)}_count_{kind}")
    create_schema(settings)
    create_schema(settings)  # and again: nothing changes
    add_orders(services, 30, 10)
    kept, counted = counts_by_grouping(services)
    assert kept == counted
    assert_exact(services)


def test_vacuum_after_a_bulk_load_runs_outside_any_transaction_and_changes_no_answer(
    settings: Settings, services: Services
) -> None:
    add_orders(services, 0, 20)
    services.read_model.catch_up()
    services.read_model.database.vacuum_analyze(
        generation_tables(services.read_model.projector.active_generation()))
    assert_exact(services)


@pytest.mark.parametrize("day", [-2, -1, 0, 1, 2, 20_000])
def test_day_bounds_are_the_first_and_last_micros_that_sql_division_puts_in_that_day(day: int) -> None:
    first, last = day_bounds(day)

    def sql_day(micros: int) -> int:  # both backends divide integers truncating towards zero
        whole = abs(micros) // DAY_MICROS
        return whole if micros >= 0 else -whole

    assert sql_day(first) == sql_day(last) == day
    assert sql_day(first - 1) != day and sql_day(last + 1) != day
