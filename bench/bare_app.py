"""Baseline (b): a bare Flask endpoint doing one single-row INSERT and COMMIT, nothing else.

Served exactly like the service (``gunicorn --workers 4 --threads 4 bench.bare_app:app``) and hit
by the same load generator, it is the floor of one HTTP write on this machine and backend.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from flask import Flask, request
from psycopg_pool import ConnectionPool

from bench.baselines import RAW_TABLE, sqlite_baseline_path

app = Flask("bare")
_lock = threading.Lock()
_pool: ConnectionPool | None = None
_local = threading.local()


def _postgres_pool() -> ConnectionPool:
    """One pool per worker process, built on first use (after gunicorn's fork)."""
    global _pool
    with _lock:
        if _pool is None:
            schema = os.environ.get("POSTGRES_SCHEMA")
            kwargs = {"options": f"-c search_path={schema}"} if schema else {}
            _pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=5, kwargs=kwargs,
                                   open=True)
        return _pool


def _sqlite() -> sqlite3.Connection:
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        instance = Path(os.environ["ORDERS_INSTANCE_DIR"])
        connection = sqlite3.connect(sqlite_baseline_path(instance), timeout=30, isolation_level=None)
        _local.connection = connection
    return connection


@app.post("/insert")
def insert() -> tuple[dict[str, Any], int]:
    payload = str(request.get_json(silent=True))
    if os.environ["DATABASE_URL"].startswith("postgres"):
        with _postgres_pool().connection() as connection:
            connection.execute(f"INSERT INTO {RAW_TABLE} (payload) VALUES (%s)", (payload,))
    else:
        _sqlite().execute(f"INSERT INTO {RAW_TABLE} (payload) VALUES (?)", (payload,))
    return {"inserted": True}, 201


@app.get("/health/live")
def live() -> dict[str, str]:
    return {"status": "UP"}
