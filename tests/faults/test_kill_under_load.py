"""Whole sales under load while things break: a gunicorn worker is SIGKILLed, a scheduler is
SIGKILLed, and the database goes away for a few seconds. Afterwards every sale the service said
it captured is confirmed exactly once, seats add up, nothing was captured twice, orders left
unpaid were expired, and ``flask verify`` finds the read model equal to the events."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_DEPARTURE
from ordering.settings import Settings
from tests.conftest import auth_headers
from tests.faults.conftest import proxy_url
from tests.support.pgproxy import PgProxy
from tests.support.processes import ROOT, Gunicorn, gunicorn, log_tail, service_env, start_scheduler, stop
from tests.support.sales import (
    REQUEST_TIMEOUT,
    Sale,
    SaleFailed,
    call,
    every_order,
    publish_demo_catalogue,
    reserve,
    seats_held_by_active_lines,
    whole_sale,
)
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.faults]
CLIENTS = 6
LOAD_SECONDS = 20
KILL_WORKER_AT, KILL_SCHEDULER_AT, OUTAGE_AT, OUTAGE_SECONDS = 4.0, 7.0, 10.0, 3.0
UNPAID_EVERY = 4  # every 4th iteration of a client leaves its order unpaid, due in a few seconds
UNPAID_EXPIRES_AFTER = timedelta(seconds=3)
TOLERATED = {None, 409, 503}  # connection errors, conflicts, unavailable


@dataclass
class Unpaid:
    order_id: str
    expire_at: datetime


@dataclass
class Load:
    sales: list[Sale] = field(default_factory=list)
    captured_after_outage: int = 0
    unpaid: list[Unpaid] = field(default_factory=list)
    # (seconds since the start, step, status or None for no answer, text)
    failures: list[tuple[float, str, int | None, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, at: float, step: str, status: int | None, text: str) -> None:
        with self.lock:
            self.failures.append((at, step, status, text))

    def summary(self) -> str:
        statuses = Counter((step, status) for _, step, status, _ in self.failures)
        return (f"{len(self.sales)} sales, {sum(s.captured for s in self.sales)} captured "
                f"({self.captured_after_outage} after the outage), "
                f"{len(self.unpaid)} left unpaid; failures by (step, status): {dict(statuses)}")


@pytest.fixture
def system(proxied_settings: Settings, postgres_settings: Settings, pgproxy: PgProxy,
           tmp_path: Path) -> Iterator[tuple[Gunicorn, list[subprocess.Popen[bytes]], dict[str, str]]]:
    application = OrderingApplication(env=postgres_settings.eventsourcing_env())
    publish_demo_catalogue(application)
    application.close()
    env = service_env(postgres_settings, proxy_url(pgproxy), tmp_path, ORDER_EXPIRY_INTERVAL_SECONDS="1")
    schedulers = [start_scheduler({**env, "POSTGRES_POOL_SIZE": "2"}, tmp_path / f"scheduler-{n}.log")
                  for n in range(2)]
    try:
        with gunicorn(env, tmp_path / "gunicorn.log", workers=3, threads=4) as server:
            yield server, schedulers, env
    finally:
        for process in schedulers:
            stop(process)


def client(base: str, stop_at: float, started: float, load: Load, number: int) -> None:
    headers = auth_headers()
    with requests.Session() as session:
        iteration = 0
        while time.monotonic() < stop_at:
            iteration += 1
            if iteration % UNPAID_EVERY == 0:
                leave_unpaid(session, base, headers, started, load)
                continue
            sale = whole_sale(session, base, headers)
            finished = time.monotonic() - started
            with load.lock:
                load.sales.append(sale)
                if sale.captured and finished > OUTAGE_AT + OUTAGE_SECONDS:
                    load.captured_after_outage += 1
            if sale.failed_at:
                load.failed(finished, sale.failed_at, sale.failed_status, sale.failure or "")
                time.sleep(0.1)  # do not spin against a server that is down


def leave_unpaid(session: requests.Session, base: str, headers: dict[str, str], started: float,
                 load: Load) -> None:
    try:
        order_id = reserve(session, base, headers)
        expire_at = datetime.now(UTC) + UNPAID_EXPIRES_AFTER
        call(session, "PUT", f"{base}/v1/orders/{order_id}", "set expireAt", (200,), headers=headers,
             json={"expireAt": expire_at.isoformat().replace("+00:00", "Z")})
    except SaleFailed as failure:
        load.failed(time.monotonic() - started, failure.step, failure.status, str(failure))
        time.sleep(0.1)
        return
    with load.lock:
        load.unpaid.append(Unpaid(order_id, expire_at))


def trail(session: requests.Session, base: str, order_id: str) -> list[dict[str, object]]:
    response = session.get(f"{base}/v1/orders/{order_id}/events", headers=auth_headers(),
                           timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200, f"trail of {order_id}: {response.status_code} {response.text[:200]}"
    events: list[dict[str, object]] = response.json()["events"]
    return events


def test_sales_survive_killed_processes_and_a_database_outage(
    system: tuple[Gunicorn, list[subprocess.Popen[bytes]], dict[str, str]], pgproxy: PgProxy,
    postgres_settings: Settings, tmp_path: Path,
) -> None:
    server, schedulers, env = system
    base = server.base
    writer = auth_headers(permissions=("offers:write",))
    capacity = requests.put(f"{base}/v1/journeys/{BERGEN_DEPARTURE}/capacity", json={"seats": 5000},
                            headers=writer, timeout=REQUEST_TIMEOUT)
    assert capacity.status_code == 200, capacity.text
    workers_before = server.worker_pids()
    assert len(workers_before) == 3, f"gunicorn should run 3 workers: {workers_before}"

    load = Load()
    started = time.monotonic()
    stop_at = started + LOAD_SECONDS
    clients = [threading.Thread(target=client, args=(base, stop_at, started, load, n), daemon=True)
               for n in range(CLIENTS)]
    for thread in clients:
        thread.start()

    def at(offset: float) -> None:
        time.sleep(max(0.0, started + offset - time.monotonic()))

    at(KILL_WORKER_AT)
    killed_worker = server.worker_pids()[0]
    os.kill(killed_worker, signal.SIGKILL)
    at(KILL_SCHEDULER_AT)
    schedulers[0].send_signal(signal.SIGKILL)
    at(OUTAGE_AT)
    pgproxy.go_down()
    time.sleep(OUTAGE_SECONDS)
    pgproxy.come_back()
    for thread in clients:
        thread.join(timeout=LOAD_SECONDS + 2 * REQUEST_TIMEOUT)
    assert not any(t.is_alive() for t in clients), "a load client hung"
    print(load.summary())

    # the faults really happened, and the load really ran through them
    assert schedulers[0].wait(timeout=5) == -signal.SIGKILL
    assert schedulers[1].poll() is None, (
        f"the other scheduler must keep running:\n{log_tail(tmp_path / 'scheduler-1.log')}")

    def replaced() -> bool:
        workers = server.worker_pids()
        return len(workers) == 3 and killed_worker not in workers

    assert wait_for(replaced, 10, 0.3), f"gunicorn must replace the killed worker: {server.worker_pids()}"
    captured = [s for s in load.sales if s.captured]
    assert len(captured) >= 15, f"the load hardly ran: {load.summary()}\n{server.tail()}"
    outage_ends = OUTAGE_AT + OUTAGE_SECONDS + REQUEST_TIMEOUT
    in_outage = [f for f in load.failures if OUTAGE_AT <= f[0] <= outage_ends]
    assert in_outage, f"no request failed while the database was down: {load.summary()}"
    untolerated = [f for f in load.failures if f[2] not in TOLERATED]
    assert not untolerated, (
        f"only connection errors, 409 and 503 are acceptable failures: {untolerated[:5]}\n{load.summary()}")
    assert load.captured_after_outage >= 3, f"sales must go on after the outage: {load.summary()}"

    direct = OrderingApplication(env=postgres_settings.eventsourcing_env())
    try:
        # orders left unpaid with a short expireAt are expired, once, by the surviving scheduler
        due_by = max((u.expire_at for u in load.unpaid), default=datetime.now(UTC))
        wait_seconds = max(0.0, (due_by - datetime.now(UTC)).total_seconds()) + 10

        def expirations(order_id: str) -> int:
            return [type(e.event).__name__ for e in direct.order_trail(order_id, None)].count("OrderExpired")

        assert load.unpaid, f"no order was left unpaid: {load.summary()}"
        assert wait_for(lambda: all(expirations(u.order_id) for u in load.unpaid), wait_seconds, 1), (
            f"not expired: {[u.order_id for u in load.unpaid if not expirations(u.order_id)]}\n"
            f"{log_tail(tmp_path / 'scheduler-1.log')}")
        assert [expirations(u.order_id) for u in load.unpaid] == [1] * len(load.unpaid)

        # every sale answered as captured is confirmed, with one capture and one confirmation
        with requests.Session() as session:
            for sale in captured:
                assert sale.order_id
                order = session.get(f"{base}/v1/orders/{sale.order_id}", headers=auth_headers(),
                                    timeout=REQUEST_TIMEOUT).json()
                assert order.get("status") == "CONFIRMED", f"captured sale {sale} is not confirmed: {order}"
                events = trail(session, base, sale.order_id)
                kinds = Counter(str(e["type"]) for e in events)
                confirmations = [e for e in events if e["type"] == "OrderConfirmed"]
                assert kinds["PaymentCaptured"] == 1, f"{sale.order_id}: {dict(kinds)}"
                assert [e["orderVersion"] for e in confirmations] == [1], f"{sale.order_id}: {dict(kinds)}"

        # seats: what the departure holds is exactly what the orders' active lines hold
        orders = every_order(direct)
        held = seats_held_by_active_lines(orders, BERGEN_DEPARTURE)
        holds = direct.seats.holds_on(BERGEN_DEPARTURE)
        assert set(holds) == set(held), (
            f"seats held without an active line: {sorted(set(holds) - set(held))[:5]}; "
            f"active lines without seats: {sorted(set(held) - set(holds))[:5]}")
        assert direct.availability(BERGEN_DEPARTURE).reserved == sum(seats for _, seats in held.values())
        assert all(holds[r].order_code == code for r, (code, _) in held.items())

        # no payment captured twice, on the payment or on any order
        captures = Counter(n.originator_id for n in direct.recorder.select_notifications(
            start=1, limit=100_000, topics=["ordering.domain.payment:Payment.PaymentCaptured"]))
        twice = [p for p, n in captures.items() if n > 1]
        assert not twice, f"payments captured twice: {captures.most_common(3)}"
        for order in orders:
            refs = Counter(ref.payment_id for ref in order.payment_refs if ref.payment_id)
            assert max(refs.values(), default=0) <= 1, f"{order.code} registered a payment twice: {refs}"
        assert len(captures) >= len(captured)
    finally:
        direct.close()

    verify = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "verify"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, f"flask verify failed:\n{verify.stdout[-2000:]}\n{verify.stderr[-2000:]}"
