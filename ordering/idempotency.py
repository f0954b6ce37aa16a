"""Idempotency keys, kept in the event store's own database.

A request's answer is written in the same transaction as the events of the change it caused
(the recorders in ``ordering.store`` call ``insert_answer`` inside their insert), so a process
that dies after the commit but before answering leaves the answer on record: the retry gets it,
never a second change. A *claim* (its own short transaction, with a lease) marks a request with
that key as being carried out, so a concurrent repeat answers ``IDEMPOTENCY_KEY_IN_USE``.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ANSWER_KWARG = "idempotent_answer"  # the save() keyword that carries an answer into the insert
ANSWERS, CLAIMS = "idempotency_answers", "idempotency_claims"


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer to a request with a key: replayed as it was to every repeat."""

    key_id: str
    fingerprint: str
    status: int
    body: str
    headers: dict[str, str]
    expires_at: datetime


class Datastore(Protocol):
    def transaction(self, *, commit: bool) -> AbstractContextManager[Any]: ...


class IdempotencyTables:
    """The SQL of both tables, for PostgreSQL (``%s``, schema-qualified) and SQLite (``?``)."""

    def __init__(self, datastore: Datastore, schema: str | None) -> None:
        self.datastore = datastore
        self.postgres = schema is not None
        prefix = f'"{schema}".' if schema else ""
        self.answers, self.claims = f"{prefix}{ANSWERS}", f"{prefix}{CLAIMS}"

    def create_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.answers} (key_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "status INTEGER NOT NULL, body TEXT NOT NULL, headers TEXT NOT NULL, expires_at BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.claims} (key_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, "
            "token TEXT NOT NULL, lease_until BIGINT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {ANSWERS}_expiry ON {self.answers} (expires_at)",
        ]

    def _sql(self, statement: str) -> str:
        return statement if self.postgres else statement.replace("%s", "?")

    def _transaction(self) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=True)

    def insert_answer(self, cursor: Any, answer: StoredAnswer) -> None:
        """Inside the change's own transaction: a second answer for the key breaks the insert."""
        cursor.execute(self._sql(f"INSERT INTO {self.answers} VALUES (%s, %s, %s, %s, %s, %s)"),
                       (answer.key_id, answer.fingerprint, answer.status, answer.body,
                        json.dumps(answer.headers), micros(answer.expires_at)))

    def record(self, answer: StoredAnswer) -> None:
        """An answer with no change to go with it (a refusal, or a command that changed nothing)."""
        with self._transaction() as cursor:
            self.insert_answer(cursor, answer)

    def answer(self, key_id: str, now: datetime) -> StoredAnswer | None:
        with self._transaction() as cursor:
            cursor.execute(self._sql(f"SELECT * FROM {self.answers} WHERE key_id = %s AND expires_at > %s"),
                           (key_id, micros(now)))
            row = cursor.fetchone()
        if row is None:
            return None
        return StoredAnswer(row["key_id"], row["fingerprint"], int(row["status"]), row["body"],
                            json.loads(row["headers"]), datetime.fromtimestamp(row["expires_at"] / 1e6))

    def claim(self, key_id: str, fingerprint: str, token: str, now: datetime,
              lease_until: datetime) -> str | None:
        """Take the key for this request: None when it now holds the key, else the fingerprint
        of the request that does (being carried out elsewhere). An expired answer or lease frees
        the key."""
        with self._transaction() as cursor:
            cursor.execute(self._sql(f"DELETE FROM {self.answers} WHERE key_id = %s AND expires_at <= %s"),
                           (key_id, micros(now)))
            cursor.execute(self._sql(
                f"INSERT INTO {self.claims} AS held VALUES (%s, %s, %s, %s) ON CONFLICT (key_id) DO UPDATE "
                "SET fingerprint = excluded.fingerprint, token = excluded.token, "
                "lease_until = excluded.lease_until WHERE held.lease_until <= %s"),
                (key_id, fingerprint, token, micros(lease_until), micros(now)))
            cursor.execute(self._sql(f"SELECT token, fingerprint FROM {self.claims} WHERE key_id = %s"),
                           (key_id,))
            holder = cursor.fetchone()
        return None if holder["token"] == token else str(holder["fingerprint"])

    def release(self, key_id: str, token: str) -> None:
        with self._transaction() as cursor:
            cursor.execute(self._sql(f"DELETE FROM {self.claims} WHERE key_id = %s AND token = %s"),
                           (key_id, token))

    def purge(self, now: datetime) -> int:
        """Forget answers past their time and abandoned claims; how many rows went."""
        with self._transaction() as cursor:
            cursor.execute(self._sql(f"DELETE FROM {self.answers} WHERE expires_at <= %s"), (micros(now),))
            gone = _rowcount(cursor)
            cursor.execute(self._sql(f"DELETE FROM {self.claims} WHERE lease_until <= %s"), (micros(now),))
            return gone + _rowcount(cursor)


def _rowcount(cursor: Any) -> int:
    """psycopg's cursor has ``rowcount``; the library's SQLite cursor wraps sqlite3's."""
    raw = getattr(cursor, "sqlite_cursor", cursor)
    return max(0, int(raw.rowcount or 0))


def answer_of(save_kwargs: dict[str, Any]) -> StoredAnswer | None:
    """The answer a save() carries into the events' transaction, if any."""
    answer = save_kwargs.get(ANSWER_KWARG)
    return answer if isinstance(answer, StoredAnswer) else None
