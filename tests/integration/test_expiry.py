"""Expiry on time: the sweep finds due orders in the read model and reverts them exactly once."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from ordering.bootstrap import Services, build_services
from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER, DEMO_CAPACITY, demo_offers
from ordering.domain.errors import DomainError
from ordering.domain.reserving import OfferConfiguration
from ordering.following import start_read_model_follower
from ordering.http.sales import load_offers
from ordering.scheduling import Leadership, SweepReport, sweep
from ordering.settings import Settings
from tests.builders import context_of, run_together
from tests.conftest import FakeClock

CTX = context_of(1)
ONE_SEAT = [OfferConfiguration(BERGEN_OFFER, ["7a1c0e52-0000-4b7e-8c1d-000000000001"])]


@pytest.fixture
def shop(services: Services, clock: FakeClock) -> Services:
    services.application.publish_offers(load_offers(demo_offers(clock.now)))
    for journey, seats in DEMO_CAPACITY.items():
        services.application.set_capacity(journey, seats)
    return services


def reserve_one_seat(services: Services, order_id: str | None = None) -> str:
    return services.application.reserve_offers(CTX, order_id, ONE_SEAT).order.code


def pay(services: Services, code: str) -> None:
    app = services.application
    order = app.get_order(code, 1)
    payment = app.create_payment(CTX, code, order.order_version, order.balance, "VISA")
    app.capture_payment(payment.payment_id, CTX)


def reserved_seats(services: Services) -> int:
    return services.application.availability(BERGEN_DEPARTURE).reserved


def event_types(services: Services, code: str) -> list[str]:
    return [type(e.event).__name__ for e in services.application.order_trail(code, 1)]


def test_a_never_confirmed_order_expires_at_its_deadline_not_before(shop: Services, clock: FakeClock) -> None:
    code = reserve_one_seat(shop)
    deadline = shop.application.get_order(code, 1).expire_at
    assert sweep(shop, deadline - timedelta(seconds=1)).expired == 0
    assert reserved_seats(shop) == 1
    assert sweep(shop, deadline).expired == 1
    order = shop.application.get_order(code, 1)
    assert (order.status, order.order_version, order.lines, order.total_amount) == ("DRAFT", 1, [], 0)
    assert reserved_seats(shop) == 0
    assert sweep(shop, deadline + timedelta(hours=1)).expired == 0
    assert event_types(shop, code).count("OrderExpired") == 1


def test_a_confirmed_then_changed_order_returns_to_its_confirmed_version(
    shop: Services, clock: FakeClock
) -> None:
    code = reserve_one_seat(shop)
    pay(shop, code)
    clock.advance(hours=1)
    reserve_one_seat(shop, code)
    assert (shop.application.get_order(code, 1).order_version, reserved_seats(shop)) == (2, 2)
    clock.advance(minutes=20)
    assert sweep(shop, clock.now).expired == 1
    order = shop.application.get_order(code, 1)
    assert (order.status, order.order_version, order.total_amount) == ("CONFIRMED", 1, Decimal("899.00"))
    assert order.balance == 0 and reserved_seats(shop) == 1
    assert shop.application.get_order(code, 1, version=1).total_amount == Decimal("899.00")
    expired = shop.application.order_trail(code, 1)[-1]
    assert type(expired.event).__name__ == "OrderExpired"
    reverted = expired.event.reverted  # type: ignore[attr-defined]
    assert (reverted["fromVersion"], reverted["toVersion"]) == (2, 1)
    assert len(reverted["releasedReservationIds"]) == 1
    assert expired.event.context["clientName"] == "order-expiry-scheduler"  # type: ignore[attr-defined]


def test_a_locked_order_waits_for_its_lock_to_time_out_then_its_payment_is_cancelled(
    shop: Services, clock: FakeClock
) -> None:
    code = reserve_one_seat(shop)
    clock.advance(minutes=15)
    order = shop.application.get_order(code, 1)
    payment = shop.application.create_payment(CTX, code, 1, order.balance, "VISA")
    clock.advance(minutes=10)  # past expireAt, but the lock is only 10 minutes old at 24:59
    assert sweep(shop, clock.now - timedelta(seconds=1)).expired == 0
    assert sweep(shop, clock.now).expired == 1
    assert shop.application.get_payment(payment.payment_id, 1).status == "CANCELLED"
    order = shop.application.get_order(code, 1)
    assert not order.locked and order.lines == [] and reserved_seats(shop) == 0
    assert event_types(shop, code)[-2:] == ["OrderUnlocked", "OrderExpired"]


@pytest.fixture
def another_process(settings: Settings, clock: FakeClock) -> Iterator[Services]:
    """A second, independent service instance on the same database."""
    services = build_services(settings, clock)
    yield services
    services.close()


def test_a_scheduler_that_was_down_finds_every_due_order_on_restart(
    shop: Services, another_process: Services, clock: FakeClock
) -> None:
    codes = [reserve_one_seat(shop) for _ in range(5)]
    clock.advance(hours=6)
    assert sweep(another_process, clock.now, batch=2) == SweepReport(due=5, expired=5)
    assert all(another_process.application.get_order(c, 1).lines == [] for c in codes)
    assert reserved_seats(another_process) == 0


def test_two_schedulers_sweeping_at_once_expire_each_order_once(
    shop: Services, another_process: Services, clock: FakeClock
) -> None:
    codes = [reserve_one_seat(shop) for _ in range(8)]
    clock.advance(minutes=30)
    reports: list[SweepReport] = []
    run_together(*(lambda s=s: reports.append(sweep(s, clock.now, batch=3)) for s in (shop, another_process)))
    assert sum(r.expired for r in reports) == 8
    assert all(event_types(shop, c).count("OrderExpired") == 1 for c in codes)
    assert reserved_seats(shop) == 0


def test_an_order_confirmed_as_it_expires_ends_one_way_or_the_other(shop: Services, clock: FakeClock) -> None:
    codes = [reserve_one_seat(shop) for _ in range(6)]
    clock.advance(minutes=20)
    payments = {}
    for code in codes:
        order = shop.application.get_order(code, 1)
        payments[code] = shop.application.create_payment(CTX, code, 1, order.balance, "VISA").payment_id
    clock.advance(minutes=10)  # due, and every lock timed out: capture and expiry race

    def capture_all() -> None:
        for code in codes:
            with contextlib.suppress(DomainError):  # the expiry won this one: cancelled payment
                shop.application.capture_payment(payments[code], CTX)

    run_together(capture_all, lambda: sweep(shop, clock.now))
    for code in codes:
        order = shop.application.get_order(code, 1)
        payment = shop.application.get_payment(payments[code], 1)
        if payment.status == "CAPTURED":
            assert (order.status, len(order.lines), order.balance) == ("CONFIRMED", 1, 0)
        else:
            assert (payment.status, order.status, order.lines) == ("CANCELLED", "DRAFT", [])
    confirmed = sum(1 for c in codes if shop.application.get_order(c, 1).status == "CONFIRMED")
    assert reserved_seats(shop) == confirmed


@pytest.mark.postgres
def test_one_scheduler_leads_at_a_time_and_another_takes_over_when_it_stops(
    postgres_settings: Settings,
) -> None:
    first, second = Leadership(postgres_settings), Leadership(postgres_settings)
    try:
        assert first.acquire() and first.acquire()
        assert not second.acquire()
        first.release()
        assert second.acquire()
        assert not first.acquire()
        second._connection.close()  # type: ignore[union-attr]  # as when its process dies
        deadline = time.monotonic() + 10  # the server frees the lock as the session ends
        while not first.acquire() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.acquire()
    finally:
        first.release()
        second.release()


def test_an_order_read_ahead_expires_from_memory_when_it_falls_due(shop: Services, clock: FakeClock) -> None:
    code = reserve_one_seat(shop)
    deadline = shop.application.get_order(code, 1).expire_at
    preloaded = {code: shop.application.get_order(code, 1)}
    assert sweep(shop, deadline - timedelta(seconds=1), preloaded=preloaded).expired == 0
    assert sweep(shop, deadline, preloaded=preloaded).expired == 1
    assert preloaded == {} and reserved_seats(shop) == 0
    assert event_types(shop, code).count("OrderExpired") == 1


def test_an_order_read_ahead_then_paid_is_not_reverted(
    shop: Services, another_process: Services, clock: FakeClock
) -> None:
    codes = [reserve_one_seat(shop) for _ in range(3)]
    deadline = shop.application.get_order(codes[0], 1).expire_at
    preloaded = {code: shop.application.get_order(code, 1) for code in codes}
    pay(another_process, codes[1])  # the copy read ahead is stale now
    clock.advance(minutes=20)
    assert sweep(shop, deadline, preloaded=preloaded).expired == 2
    paid = shop.application.get_order(codes[1], 1)
    assert (paid.status, len(paid.lines)) == ("CONFIRMED", 1) and reserved_seats(shop) == 1
    assert [event_types(shop, c).count("OrderExpired") for c in codes] == [1, 0, 1]


def test_a_sweep_leaves_projecting_to_the_follower_of_another_process(
    settings: Settings, shop: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = reserve_one_seat(shop)
    deadline = shop.application.get_order(code, 1).expire_at
    elsewhere = build_services(settings, clock)  # as the web process whose follower leads
    following = start_read_model_follower(lambda: elsewhere, settings)
    try:
        projected_here: list[object] = []
        monkeypatch.setattr(shop.read_model.projector, "catch_up",
                            lambda *args, **kwargs: projected_here.append(args) or 0)
        assert sweep(shop, deadline, follower_grace=30.0).order_ids == (code,)
        assert projected_here == []  # it waited for the follower rather than race it
    finally:
        following.stop()
        elsewhere.close()


def test_a_sweep_projects_itself_when_no_follower_comes_within_its_grace(shop: Services) -> None:
    code = reserve_one_seat(shop)
    deadline = shop.application.get_order(code, 1).expire_at
    started = time.monotonic()
    assert sweep(shop, deadline, follower_grace=0.3).order_ids == (code,)
    assert time.monotonic() - started >= 0.3
