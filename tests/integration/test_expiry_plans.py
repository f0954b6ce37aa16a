"""The expiry timer looks at the read model several times a second while orders are sold: each
look must read an index, whatever number of orders wait. Seeded waiting orders that share one
``expireAt`` once made every look sort them all (or scan the table), which took a million-order
read model's sale from about 78 to 45 sales/s."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from ordering.bootstrap import Services, create_schema
from ordering.scheduling import OLDEST_LIVE_LOCK, UPCOMING_ORDERS, WAITING_ORDERS, sweep
from ordering.settings import Settings
from projections import DUE_ORDERS
from projections.orders import micros
from projections.schema import orders_table
from tests.conftest import FakeClock
from tests.integration.test_expiry import reserve_one_seat, shop  # noqa: F401 (a fixture)

WAITING, SETTLED = 20_000, 20_000
MINUTE = 60_000_000


def _fill(services: Services, generation: int, expire_at: int) -> None:
    """Many drafts due at one instant, far ahead, and many confirmed orders, written by hand."""
    table = orders_table(generation)
    with services.read_model.database.transaction(write=True) as cursor:
        for first, count, waiting in ((0, WAITING, 1), (WAITING, SETTLED, 0)):
            expiring = expire_at if waiting else expire_at - 30 * MINUTE
            cursor.execute(
                f"INSERT INTO {table} SELECT 'W' || n, 1, CASE WHEN ? = 1 THEN 'DRAFT' ELSE 'CONFIRMED' END, "
                "'NOK', NULL, NULL, NULL, NULL, 0, 100, 10, 1, n, NULL, ?, ?, 0, NULL, '{}' "
                "FROM generate_series(CAST(? AS BIGINT), CAST(? AS BIGINT)) AS n",
                (waiting, expiring, waiting, first, first + count - 1))
        cursor.execute(f"ANALYZE {table}")


def _plans(services: Services, statement: str, params: tuple[int, ...]) -> list[str]:
    """The plan PostgreSQL picks for the values, and the generic one a prepared statement
    falls back to after five runs."""
    numbered = iter(range(1, 100))
    prepared = re.sub(r"\?", lambda _: f"${next(numbered)}", statement)
    values = ", ".join(str(p) for p in params)
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"PREPARE look AS {prepared}")
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        custom = "\n".join(row[0] for row in cursor.execute(f"EXPLAIN EXECUTE look({values})").fetchall())
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        generic = "\n".join(row[0] for row in cursor.execute(f"EXPLAIN EXECUTE look({values})").fetchall())
        cursor.execute("DEALLOCATE look")
    return [custom, generic]


@pytest.mark.postgres
def test_each_look_of_the_expiry_timer_reads_an_index_beside_many_waiting_orders(
    postgres_services: Services, clock: FakeClock
) -> None:
    services = postgres_services
    generation = services.read_model.projector.active_generation()
    now = micros(clock.now)
    _fill(services, generation, now + 150 * 24 * 60 * MINUTE)
    table = orders_table(generation)
    looks = {
        "waiting": (WAITING_ORDERS, (now, 50)),
        "oldest live lock": (OLDEST_LIVE_LOCK, (now, now - 10 * MINUTE)),
        "upcoming": (UPCOMING_ORDERS, (now, now + MINUTE, 20_000)),
        "due": (DUE_ORDERS, (now, now - 10 * MINUTE, 500)),
    }
    for name, (statement, params) in looks.items():
        for plan in _plans(services, statement.format(table=table), params):
            assert "Seq Scan" not in plan and "Sort" not in plan, f"{name}:\n{plan}"


def test_a_read_model_made_before_the_expiry_indexes_gets_them_at_init_db(
    settings: Settings, shop: Services, clock: FakeClock  # noqa: F811
) -> None:
    code = reserve_one_seat(shop)
    shop.read_model.catch_up()
    table = orders_table(shop.read_model.projector.active_generation())
    with shop.read_model.database.transaction(write=True) as cursor:  # as an earlier release left it
        cursor.execute(f"DROP INDEX {table}_due_soonest")
        cursor.execute(f"DROP INDEX {table}_locked")
        cursor.execute(f"CREATE INDEX {table}_due ON {table} (expire_at) WHERE has_unconfirmed = 1")
    create_schema(settings)
    create_schema(settings)  # and again: nothing changes
    assert {f"{table}_due_soonest", f"{table}_locked"} <= _indexes(shop, table)
    assert f"{table}_due" not in _indexes(shop, table)
    deadline = shop.application.get_order(code, 1).expire_at
    assert sweep(shop, deadline - timedelta(seconds=1)).expired == 0
    assert sweep(shop, deadline).order_ids == (code,)


def _indexes(services: Services, table: str) -> set[str]:
    with services.read_model.database.transaction() as cursor:
        if services.read_model.database.postgres:
            cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ? "
                           "AND schemaname = current_schema()", (table,))
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,))
        return {row[0] for row in cursor.fetchall()}
