"""Expiry on time, for real: the scheduler wakes when an order falls due, not at its next
interval; never before ``expireAt``; a change made meanwhile is never reverted. Real clock,
expiries a second or two ahead, the scheduler's interval long (30 s) so a sweep on the interval
would be too late; the bounds are generous (polling), never tight timings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from ordering.bootstrap import Services, build_services
from ordering.domain.policy import utcnow
from ordering.http.factory import create_app
from ordering.settings import Settings
from tests.builders import a_line, context_of
from tests.integration.test_scheduler_processes import start_scheduler, wait_for

CTX = context_of(1)
LONG_INTERVAL = 30.0


def an_order_due_in(services: Services, seconds: float) -> tuple[str, datetime]:
    """An order with one unconfirmed 100.00 line and a client-chosen expireAt."""
    app = services.application
    expire_at = utcnow() + timedelta(seconds=seconds)
    code = app.create_order(CTX, expire_at=expire_at).code
    app._change(code, CTX, lambda o: o.add_lines([a_line()], utcnow(), utcnow(), CTX.as_event_data()))
    return code, app.get_order(code, 1).expire_at


def expired_at(services: Services, code: str) -> list[datetime]:
    """When each ``OrderExpired`` event of the order was made."""
    trail = services.application.order_trail(code, 1)
    return [entry.event.timestamp for entry in trail if type(entry.event).__name__ == "OrderExpired"]


def pay(services: Services, code: str) -> None:
    app = services.application
    order = app.get_order(code, 1)
    payment = app.create_payment(CTX, code, order.order_version, order.balance, "VISA")
    app.capture_payment(payment.payment_id, CTX)


def assert_expired_soon_after(services: Services, code: str, expire_at: datetime) -> None:
    assert wait_for(lambda: bool(expired_at(services, code)), 10), "not expired within 10 s"
    [at] = expired_at(services, code)
    assert expire_at <= at, "expired before its expireAt"
    assert at - expire_at < timedelta(seconds=3), f"expired {at - expire_at} after its expireAt"


@pytest.fixture
def embedded(sqlite_settings: Settings) -> Iterator[Services]:
    """The web process with its embedded scheduler (SQLite), asleep for its long interval."""
    settings = replace(sqlite_settings, embedded_scheduler=True, expiry_interval_seconds=LONG_INTERVAL)
    app: Flask = create_app(settings)
    try:
        services: Services = app.extensions["ordering"].services()
        scheduler: Any = app.extensions["ordering-scheduler"]
        assert wait_for(lambda: scheduler.get_job("expire-orders").next_run_time > utcnow()
                        + timedelta(seconds=LONG_INTERVAL / 2), 10)  # its first turn is done
        yield services
    finally:
        app.extensions["ordering-scheduler"].shutdown(wait=True)
        app.extensions["ordering-followers"].stop()
        app.extensions["ordering"].close()


def test_a_new_order_due_sooner_wakes_the_sleeping_scheduler(embedded: Services) -> None:
    code, expire_at = an_order_due_in(embedded, 1)
    assert_expired_soon_after(embedded, code, expire_at)
    order = embedded.application.get_order(code, 1)
    assert (order.status, order.lines) == ("DRAFT", [])


def test_orders_due_one_after_the_other_each_expire_on_time(embedded: Services) -> None:
    first, second = an_order_due_in(embedded, 1), an_order_due_in(embedded, 2.5)
    for code, expire_at in (first, second):
        assert_expired_soon_after(embedded, code, expire_at)


def test_an_order_paid_just_before_its_expiry_is_not_reverted(embedded: Services) -> None:
    code, expire_at = an_order_due_in(embedded, 1.5)
    pay(embedded, code)
    wait_for(lambda: utcnow() > expire_at + timedelta(seconds=2), 5)
    order = embedded.application.get_order(code, 1)
    assert (order.status, len(order.lines), expired_at(embedded, code)) == ("CONFIRMED", 1, [])


@pytest.fixture
def scheduler_process(postgres_settings: Settings, tmp_path: Any) -> Iterator[Services]:
    """``python scheduler.py`` on PostgreSQL, asleep for its long interval; the test saves
    from its own process."""
    services = build_services(postgres_settings)
    process = start_scheduler(postgres_settings, tmp_path, tmp_path / "scheduler.log",
                              {"ORDER_EXPIRY_INTERVAL_SECONDS": str(LONG_INTERVAL)})
    try:
        assert wait_for(lambda: "expiry sweep" in (tmp_path / "scheduler.log").read_text()
                        or "leads the expiry" in (tmp_path / "scheduler.log").read_text(), 20)
        yield services
    finally:
        process.terminate()
        process.wait(timeout=20)
        services.close()


@pytest.mark.postgres
def test_an_order_saved_by_another_process_wakes_the_scheduler(scheduler_process: Services) -> None:
    code, expire_at = an_order_due_in(scheduler_process, 1)
    assert_expired_soon_after(scheduler_process, code, expire_at)


@pytest.mark.postgres
def test_an_order_read_ahead_then_paid_elsewhere_is_not_reverted(scheduler_process: Services) -> None:
    code, expire_at = an_order_due_in(scheduler_process, 2)  # within the read-ahead time at once
    wait_for(lambda: utcnow() > expire_at - timedelta(seconds=1), 5)  # the scheduler read it ahead
    pay(scheduler_process, code)
    wait_for(lambda: utcnow() > expire_at + timedelta(seconds=2), 5)
    order = scheduler_process.application.get_order(code, 1)
    assert (order.status, len(order.lines), expired_at(scheduler_process, code)) == ("CONFIRMED", 1, [])

