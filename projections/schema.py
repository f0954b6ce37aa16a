"""Read-model tables. Each rebuild fills a new *generation* beside the live one, then switches.

Beside each generation's order rows, ``order_counts_<g>`` holds how many orders each organisation
has per status and day of ``created_at``. Triggers keep it in the transaction of every write to
the rows, whoever writes them (the projector's upserts, a bulk COPY, a hand-made fix), so broad
searches count exactly without reading every match.
"""

from __future__ import annotations

import sqlite3

from projections.db import PortableCursor

DAY_MICROS = 86_400_000_000  # created_at is in microseconds; a count bucket is one (UTC) day

META_DDL = [
    """CREATE TABLE IF NOT EXISTS projection_tracking (
        generation INTEGER PRIMARY KEY,
        position BIGINT NOT NULL,
        applied BIGINT NOT NULL,
        state TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projection_active (
        id INTEGER PRIMARY KEY,
        generation INTEGER NOT NULL)""",
    # What a projector could not apply: one row per order and generation, until it projects.
    """CREATE TABLE IF NOT EXISTS projection_parked (
        generation INTEGER NOT NULL,
        aggregate_id TEXT NOT NULL,
        order_id TEXT,
        notification_id BIGINT NOT NULL,
        reason TEXT NOT NULL,
        parked_at BIGINT NOT NULL,
        PRIMARY KEY (generation, aggregate_id))""",
]

# Order-level columns: what the search filters and sorts on, and the answer itself (document).
ORDER_COLUMNS = (
    "id", "organisation_id", "status", "currency", "pos", "distribution_channel_id",
    "external_reference", "created_by", "balance", "total_amount", "total_tax_amount",
    "version", "created_at", "last_confirmed_at", "expire_at", "has_unconfirmed", "locked",
    "locked_at", "document",
)

TERM_COLUMNS = ("order_id", "field", "text_value", "num_value")


def day_bounds(day: int) -> tuple[int, int]:
    """The first and last ``created_at`` whose ``created_at / DAY_MICROS`` (SQL's division,
    truncating towards zero) is ``day``."""
    first = day * DAY_MICROS if day > 0 else day * DAY_MICROS - DAY_MICROS + 1
    last = (day + 1) * DAY_MICROS - 1 if day >= 0 else day * DAY_MICROS
    return first, last


def orders_table(generation: int) -> str:
    return f"order_view_{int(generation)}"


def terms_table(generation: int) -> str:
    return f"order_terms_{int(generation)}"


def counts_table(generation: int) -> str:
    return f"order_counts_{int(generation)}"


def generation_ddl(generation: int) -> list[str]:
    """The tables, their keys and what a projector looks rows up by (``search_index_ddl`` has
    what searches need)."""
    orders, terms = orders_table(generation), terms_table(generation)
    return [
        f"""CREATE TABLE IF NOT EXISTS {orders} (
            id TEXT PRIMARY KEY,
            organisation_id BIGINT NOT NULL,
            status TEXT NOT NULL,
            currency TEXT NOT NULL,
            pos TEXT,
            distribution_channel_id TEXT,
            external_reference TEXT,
            created_by TEXT,
            balance BIGINT NOT NULL,
            total_amount BIGINT NOT NULL,
            total_tax_amount BIGINT NOT NULL,
            version INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
            last_confirmed_at BIGINT,
            expire_at BIGINT NOT NULL,
            has_unconfirmed INTEGER NOT NULL,
            locked INTEGER NOT NULL,
            locked_at BIGINT,
            document TEXT NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {terms} (
            order_id TEXT NOT NULL,
            field TEXT NOT NULL,
            text_value TEXT,
            num_value BIGINT)""",
        f"CREATE INDEX IF NOT EXISTS {terms}_order ON {terms} (order_id)",
    ]


def search_index_ddl(generation: int) -> list[str]:
    """The indexes searches and the expiry sweep use. A rebuild creates them once its rows are
    in (far faster than keeping them up row by row), before it switches to the generation."""
    orders, terms = orders_table(generation), terms_table(generation)
    return [
        f"CREATE INDEX IF NOT EXISTS {orders}_org_created ON {orders} (organisation_id, created_at, id)",
        f"CREATE INDEX IF NOT EXISTS {orders}_org_status "
        f"ON {orders} (organisation_id, status, created_at, id)",
        # the expiry scheduler's: due orders in the order it takes them (expire_at, then id), and
        # the few locked ones; a plan that had to sort every waiting order scanned them all
        f"CREATE INDEX IF NOT EXISTS {orders}_due_soonest ON {orders} (expire_at, id) "
        "WHERE has_unconfirmed = 1",
        f"CREATE INDEX IF NOT EXISTS {orders}_locked ON {orders} (locked_at) "
        "WHERE has_unconfirmed = 1 AND locked = 1",
        f"CREATE INDEX IF NOT EXISTS {terms}_text ON {terms} (field, text_value, order_id)",
        f"CREATE INDEX IF NOT EXISTS {terms}_num ON {terms} (field, num_value, order_id)",
    ]


def create_generation(cursor: PortableCursor, generation: int, state: str) -> None:
    """A generation's tables; a live one gets its search indexes at once, one being built
    (``state`` "building") when it is complete (``create_search_indexes``)."""
    for statement in generation_ddl(generation):
        cursor.execute(statement)
    ensure_counts(cursor, generation)
    if state == "live":
        create_search_indexes(cursor, generation)
    cursor.execute("INSERT INTO projection_tracking (generation, position, applied, state) "
                   "VALUES (?, 0, 0, ?)", (generation, state))


def create_search_indexes(cursor: PortableCursor, generation: int) -> None:
    for statement in search_index_ddl(generation):
        cursor.execute(statement)


def drop_generation(cursor: PortableCursor, generation: int) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {terms_table(generation)}")
    cursor.execute(f"DROP TABLE IF EXISTS {orders_table(generation)}")
    cursor.execute(f"DROP TABLE IF EXISTS {counts_table(generation)}")
    if _is_postgres(cursor):
        cursor.execute(f"DROP FUNCTION IF EXISTS {counts_table(generation)}_apply()")
    cursor.execute("DELETE FROM projection_tracking WHERE generation = ?", (generation,))
    cursor.execute("DELETE FROM projection_parked WHERE generation = ?", (generation,))


def create_read_model(cursor: PortableCursor) -> None:
    """Idempotent: the meta tables, and generation 1 as the active one when there is none."""
    for statement in META_DDL:
        cursor.execute(statement)
    cursor.execute("SELECT generation FROM projection_active WHERE id = 1")
    if cursor.fetchone() is None:
        create_generation(cursor, 1, "live")
        cursor.execute("INSERT INTO projection_active (id, generation) VALUES (1, 1)")
        return
    cursor.execute("SELECT generation, state FROM projection_tracking ORDER BY generation")
    for generation, state in cursor.fetchall():  # a store made by an earlier release: add what is new
        for statement in generation_ddl(int(generation)):
            cursor.execute(statement)
        ensure_counts(cursor, int(generation))
        if state != "building":  # one being built gets its indexes when its rows are in
            create_search_indexes(cursor, int(generation))
            cursor.execute(f"DROP INDEX IF EXISTS {orders_table(int(generation))}_due")  # superseded


def _is_postgres(cursor: PortableCursor) -> bool:
    return not isinstance(cursor.execute("SELECT 1"), sqlite3.Cursor)


def ensure_counts(cursor: PortableCursor, generation: int) -> None:
    """The counts table and its triggers; where the table is new, filled from the rows there.

    The rows' table is locked against writes first (PostgreSQL; SQLite's writing transaction
    already is), so no write falls between the filling and the triggers."""
    postgres = _is_postgres(cursor)
    orders, counts = orders_table(generation), counts_table(generation)
    if _has_table(cursor, counts, postgres):
        return
    if postgres:
        cursor.execute(f"LOCK TABLE {orders} IN SHARE ROW EXCLUSIVE MODE")
    cursor.execute(f"""CREATE TABLE {counts} (
        organisation_id BIGINT NOT NULL,
        status TEXT NOT NULL,
        day BIGINT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (organisation_id, status, day))""")
    for statement in (_postgres_triggers if postgres else _sqlite_triggers)(orders, counts):
        cursor.execute(statement)
    cursor.execute(f"INSERT INTO {counts} (organisation_id, status, day, n) "
                   f"SELECT organisation_id, status, created_at / {DAY_MICROS}, COUNT(*) FROM {orders} "
                   "GROUP BY organisation_id, status, created_at / " + str(DAY_MICROS))


def _has_table(cursor: PortableCursor, name: str, postgres: bool) -> bool:
    if postgres:
        cursor.execute("SELECT to_regclass(?) IS NOT NULL", (name,))
    else:
        cursor.execute("SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return bool(cursor.fetchone()[0])


def _delta(rows: str, counts: str) -> str:
    """Add up ``rows`` (keys and +1/-1) per (organisation, status, day), keys in order (no
    deadlock between two writers), touching only the counts that change."""
    return f"""INSERT INTO {counts} (organisation_id, status, day, n)
        SELECT organisation_id, status, day, SUM(d) FROM ({rows}) AS changed
        GROUP BY organisation_id, status, day HAVING SUM(d) <> 0
        ORDER BY organisation_id, status, day
        ON CONFLICT (organisation_id, status, day) DO UPDATE SET n = {counts}.n + excluded.n;"""


def _keys(table: str, sign: int) -> str:
    return f"SELECT organisation_id, status, created_at / {DAY_MICROS} AS day, {sign} AS d FROM {table}"


def _postgres_triggers(orders: str, counts: str) -> list[str]:
    """Statement-level triggers with transition tables: one small upsert per statement, so a
    COPY of a million rows adds up its counts once instead of a million times."""
    added, removed = _keys("new_rows", 1), _keys("old_rows", -1)
    function = f"{counts}_apply"
    body = f"""BEGIN
        IF TG_OP = 'INSERT' THEN {_delta(added, counts)}
        ELSIF TG_OP = 'UPDATE' THEN {_delta(f"{added} UNION ALL {removed}", counts)}
        ELSIF TG_OP = 'DELETE' THEN {_delta(removed, counts)}
        ELSE DELETE FROM {counts};
        END IF;
        RETURN NULL;
    END"""
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ {body} $$",
        f"CREATE OR REPLACE TRIGGER {orders}_count_insert AFTER INSERT ON {orders} "
        f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER {orders}_count_update AFTER UPDATE ON {orders} "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER {orders}_count_delete AFTER DELETE ON {orders} "
        f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER {orders}_count_truncate AFTER TRUNCATE ON {orders} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _sqlite_triggers(orders: str, counts: str) -> list[str]:
    def add(row: str, sign: str) -> str:
        return (f"INSERT INTO {counts} (organisation_id, status, day, n) VALUES ({row}.organisation_id, "
                f"{row}.status, {row}.created_at / {DAY_MICROS}, {sign}1) "
                f"ON CONFLICT (organisation_id, status, day) DO UPDATE SET n = n {sign} 1;")
    return [
        f"CREATE TRIGGER IF NOT EXISTS {orders}_count_insert AFTER INSERT ON {orders} "
        f"BEGIN {add('new', '+')} END",
        f"CREATE TRIGGER IF NOT EXISTS {orders}_count_update "
        f"AFTER UPDATE OF organisation_id, status, created_at ON {orders} "
        f"BEGIN {add('old', '-')} {add('new', '+')} END",
        f"CREATE TRIGGER IF NOT EXISTS {orders}_count_delete AFTER DELETE ON {orders} "
        f"BEGIN {add('old', '-')} END",
    ]


def generation_tables(generation: int) -> tuple[str, ...]:
    return orders_table(generation), terms_table(generation), counts_table(generation)
