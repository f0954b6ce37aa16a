"""Read-model tables. Each rebuild fills a new *generation* beside the live one, then switches."""

from __future__ import annotations

from projections.db import PortableCursor

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


def orders_table(generation: int) -> str:
    return f"order_view_{int(generation)}"


def terms_table(generation: int) -> str:
    return f"order_terms_{int(generation)}"


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
        f"CREATE INDEX IF NOT EXISTS {orders}_due ON {orders} (expire_at) WHERE has_unconfirmed = 1",
        f"CREATE INDEX IF NOT EXISTS {terms}_text ON {terms} (field, text_value, order_id)",
        f"CREATE INDEX IF NOT EXISTS {terms}_num ON {terms} (field, num_value, order_id)",
    ]


def create_generation(cursor: PortableCursor, generation: int, state: str) -> None:
    """A generation's tables; a live one gets its search indexes at once, one being built
    (``state`` "building") when it is complete (``create_search_indexes``)."""
    for statement in generation_ddl(generation):
        cursor.execute(statement)
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
