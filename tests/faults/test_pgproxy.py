"""The proxy itself: it forwards, goes down and comes back, and loses a COMMIT's answer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import TEST_DATABASE_URL
from tests.faults.conftest import proxy_url
from tests.support.pgproxy import PgProxy

pytestmark = [pytest.mark.postgres, pytest.mark.faults]


def through(proxy: PgProxy, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(proxy_url(proxy), connect_timeout=3, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def probe_table() -> Iterator[str]:
    name = f"proxy_probe_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as direct:
        direct.execute(f"CREATE TABLE {name} (id text PRIMARY KEY)")
    yield name
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as direct:
        direct.execute(f"DROP TABLE {name}")


def rows_in(table: str) -> list[str]:
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as direct:
        return [row[0] for row in direct.execute(f"SELECT id FROM {table} ORDER BY id").fetchall()]


def test_it_forwards_queries_and_transactions(pgproxy: PgProxy, probe_table: str) -> None:
    with through(pgproxy) as connection:
        assert connection.execute("SELECT 40 + 2").fetchone() == (42,)
        connection.execute(f"INSERT INTO {probe_table} VALUES ('a')")
        connection.commit()
    with through(pgproxy, autocommit=True) as connection, connection.pipeline(), connection.transaction():
        connection.execute(f"INSERT INTO {probe_table} VALUES ('b')")
    assert rows_in(probe_table) == ["a", "b"]
    assert pgproxy.accepted == 2
    assert pgproxy.drops == [], "nothing was armed, nothing may be dropped"


def test_down_fails_fast_and_come_back_recovers(pgproxy: PgProxy) -> None:
    open_connection = through(pgproxy, autocommit=True)
    assert open_connection.execute("SELECT 1").fetchone() == (1,)
    pgproxy.go_down()
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        open_connection.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError):
        through(pgproxy)
    assert time.monotonic() - started < 2, "a database that is down must fail fast, not hang"
    assert pgproxy.refused >= 1
    deadline = time.monotonic() + 2
    while pgproxy.open_connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pgproxy.open_connections() == 0, "go_down must close every open connection"
    open_connection.close()

    pgproxy.come_back()
    with through(pgproxy) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)


def test_a_dropped_commit_raises_on_the_client_but_is_committed(pgproxy: PgProxy, probe_table: str) -> None:
    # the event store's way: pipeline mode, extended protocol (Parse "COMMIT")
    pgproxy.drop_after_next_commit()
    with (pytest.raises(psycopg.OperationalError), through(pgproxy, autocommit=True) as connection,
          connection.pipeline(), connection.transaction()):
        connection.execute(f"INSERT INTO {probe_table} VALUES (%s)", ("pipelined",))
    assert pgproxy.commit_dropped.wait(5), "the proxy never saw the COMMIT"
    assert [(d.statement, d.tag) for d in pgproxy.drops] == [("COMMIT", "COMMIT")]
    assert rows_in(probe_table) == ["pipelined"], "the commit must have happened on the server"

    # the read model's way: a simple-protocol Query "COMMIT"
    pgproxy.drop_after_next_commit()
    with pytest.raises(psycopg.OperationalError), through(pgproxy) as connection:
        connection.execute(f"INSERT INTO {probe_table} VALUES ('simple')")
        connection.commit()
    assert pgproxy.commit_dropped.wait(5)
    assert [d.tag for d in pgproxy.drops] == ["COMMIT", "COMMIT"]
    assert rows_in(probe_table) == ["pipelined", "simple"]

    # one shot: the next commit goes through
    with through(pgproxy) as connection:
        connection.execute(f"INSERT INTO {probe_table} VALUES ('after')")
        connection.commit()
    assert len(pgproxy.drops) == 2
    assert rows_in(probe_table) == ["after", "pipelined", "simple"]


def test_a_drop_can_wait_for_a_transaction_that_touched_a_table(pgproxy: PgProxy, probe_table: str) -> None:
    pgproxy.drop_after_next_commit(only_if_transaction_contains=probe_table.encode())
    with through(pgproxy) as other:
        other.execute("SELECT 1")
        other.commit()  # a commit of another transaction is not the one armed for
    assert not pgproxy.commit_dropped.is_set()
    with pytest.raises(psycopg.OperationalError), through(pgproxy) as connection:
        connection.execute(f"INSERT INTO {probe_table} VALUES ('x')")
        connection.commit()
    assert pgproxy.commit_dropped.wait(5)
    assert rows_in(probe_table) == ["x"]


def test_a_drop_can_take_the_database_down_with_it(pgproxy: PgProxy, probe_table: str) -> None:
    pgproxy.drop_after_next_commit(then_go_down=True)
    with pytest.raises(psycopg.OperationalError), through(pgproxy) as connection:
        connection.execute(f"INSERT INTO {probe_table} VALUES ('x')")
        connection.commit()
    assert pgproxy.commit_dropped.wait(5)
    assert pgproxy.is_down, "the proxy must be down from the moment of the drop"
    with pytest.raises(psycopg.OperationalError):
        through(pgproxy)
    assert rows_in(probe_table) == ["x"]
    pgproxy.come_back()
    with through(pgproxy) as connection:
        assert connection.execute("SELECT count(*) FROM " + probe_table).fetchone() == (1,)
