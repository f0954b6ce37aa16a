"""The read model's own connection: SQLite (the embedded default) or PostgreSQL.

Statements are written once with ``?`` placeholders and integer-only values (money in cents, times
in microseconds since the epoch), so the same SQL runs on both backends. Bulk writes go through
``insert_rows`` (COPY on PostgreSQL, one ``executemany`` on SQLite) and ``delete_in``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from ordering.settings import Settings

SQLITE_IN_CHUNK = 500  # values per IN list (SQLite's limit on bound parameters)


class Cursor(Protocol):
    def execute(self, statement: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class PortableCursor:
    """Takes ``?`` placeholders on both backends."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self._postgres else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return self._cursor.execute(self._sql(statement), tuple(params))

    def executemany(self, statement: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(self._sql(statement), [tuple(p) for p in params])

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert many rows at once: COPY on PostgreSQL, one ``executemany`` on SQLite."""
        if not rows:
            return
        names = ", ".join(columns)
        if not self._postgres:
            self.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",
                             rows)
            return
        with self._cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def delete_in(self, table: str, column: str, values: Sequence[Any]) -> None:
        """Delete the rows whose ``column`` is one of ``values``."""
        if self._postgres:
            self._cursor.execute(f"DELETE FROM {table} WHERE {column} = ANY(%s)", (list(values),))
            return
        for start in range(0, len(values), SQLITE_IN_CHUNK):
            chunk = values[start:start + SQLITE_IN_CHUNK]
            self._cursor.execute(f"DELETE FROM {table} WHERE {column} IN ({', '.join('?' * len(chunk))})",
                                 tuple(chunk))

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())


class ReadModelDatabase:
    def __init__(self, settings: Settings) -> None:
        self.postgres = settings.is_postgres
        self._sqlite_path = settings.sqlite_read_model_path
        self._pool: ConnectionPool | None = None
        if self.postgres:
            kwargs: dict[str, Any] = {"connect_timeout": max(1, round(settings.db_pool_timeout_seconds)),
                                      "application_name": settings.application_name}
            if settings.postgres_schema:
                kwargs["options"] = f"-c search_path={settings.postgres_schema}"
            self._pool = ConnectionPool(settings.database_url, min_size=1,
                                        max_size=settings.postgres_pool_size, kwargs=kwargs,
                                        timeout=settings.db_pool_timeout_seconds, open=True)

    def vacuum_analyze(self, tables: Sequence[str]) -> None:
        """After a bulk load or a rebuild (autovacuum is off on our machines): planner statistics,
        and the visibility map that lets searches count and page from the indexes alone. Runs
        outside any transaction; SQLite needs neither."""
        if self._pool is None:
            return
        with self._pool.connection() as connection:
            connection.autocommit = True
            try:
                for table in tables:
                    connection.execute(f"VACUUM (ANALYZE) {table}")
            finally:
                connection.autocommit = False

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[PortableCursor]:
        """A transaction; on SQLite a writing one takes the write lock up front (IMMEDIATE)."""
        if self._pool is not None:
            with self._pool.connection() as connection, connection.transaction():
                yield PortableCursor(connection.cursor(), postgres=True)
        else:
            with self._sqlite_transaction(write) as cursor:
                yield cursor

    @contextmanager
    def _sqlite_transaction(self, write: bool) -> Iterator[PortableCursor]:
        connection = sqlite3.connect(self._sqlite_path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield PortableCursor(connection.cursor(), postgres=False)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        finally:
            connection.close()

    def lock_clause(self) -> str:
        """Row lock for the tracking row (SQLite's IMMEDIATE transaction already serialises)."""
        return " FOR UPDATE" if self.postgres else ""

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
