"""The database a run uses: a fresh PostgreSQL schema, or a fresh SQLite instance folder."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from ordering.bootstrap import create_schema
from ordering.settings import Settings

JWT_SECRET = "bench-secret-of-at-least-thirty-two-bytes!!"
RATE_LIMIT = "100000 per second"


@dataclass(frozen=True)
class Backend:
    settings: Settings
    work_dir: Path  # instance folder (SQLite files), logs, scratch files

    @property
    def name(self) -> str:
        return "postgresql" if self.settings.is_postgres else "sqlite"

    @property
    def schema(self) -> str | None:
        return self.settings.postgres_schema

    def server_env(self) -> dict[str, str]:
        """The environment of every process the benchmark starts (servers, scheduler)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "ORDER"))}
        env |= {"DATABASE_URL": self.settings.database_url, "JWT_SECRET": JWT_SECRET,
                "ORDERS_INSTANCE_DIR": str(self.work_dir), "RATE_LIMIT_IDENTIFIED": RATE_LIMIT,
                "RATE_LIMIT_ANONYMOUS": RATE_LIMIT, "RATE_LIMIT_STORAGE_URI": "memory://"}
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def connect(self) -> psycopg.Connection[tuple[object, ...]]:
        """A PostgreSQL connection whose search path is the run's schema."""
        return psycopg.connect(self.settings.database_url, options=f"-c search_path={self.schema}")


def _settings(database_url: str, work_dir: Path, schema: str | None) -> Settings:
    return Settings(database_url=database_url, instance_dir=work_dir, jwt_secret=JWT_SECRET,
                    rate_limit_identified=RATE_LIMIT, postgres_schema=schema)


@contextmanager
def prepared_backend(database_url: str | None) -> Iterator[Backend]:
    """Tables created, ready to serve; everything the run made is removed afterwards."""
    work_dir = Path(tempfile.mkdtemp(prefix="order-bench-"))
    schema = None
    try:
        if database_url and database_url.startswith(("postgresql://", "postgres://")):
            schema = f"bench_{secrets.token_hex(6)}"
            with psycopg.connect(database_url, autocommit=True) as connection:
                connection.execute(f'CREATE SCHEMA "{schema}"')
            settings = _settings(database_url, work_dir, schema)
        else:
            settings = _settings(f"sqlite:///{work_dir / 'orders.sqlite3'}", work_dir, None)
        create_schema(settings)
        yield Backend(settings, work_dir)
    finally:
        if schema:
            with psycopg.connect(database_url or "", autocommit=True) as connection:
                connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        shutil.rmtree(work_dir, ignore_errors=True)
