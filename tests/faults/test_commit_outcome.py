"""A command whose COMMIT reached the database but whose answer was lost (outcome unknown) is
never run a second time: it looks for its own events (``context["commandId"]``) and answers as
a success when they were stored, ``503 SERVICE_UNAVAILABLE`` when it cannot tell.

The proxy lets the event store's COMMIT through and cuts the connection before its answer
arrives, so the client sees a lost connection while the transaction is in fact durable. What is
checked afterwards goes through a direct connection, never through the proxy.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from flask import Flask

from ordering.application import OrderingApplication
from ordering.bootstrap import Services, build_services
from ordering.demo_catalogue import BERGEN_DEPARTURE
from ordering.http.factory import create_app
from ordering.settings import Settings
from tests.builders import context_of
from tests.conftest import auth_headers
from tests.integration.test_seat_races import ONE_TRAVELLER, open_departure
from tests.support.pgproxy import PgProxy

pytestmark = [pytest.mark.postgres, pytest.mark.faults]
T = TypeVar("T")
DROP_SEEN_SECONDS = 10


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None
    seconds: float = 0.0


@pytest.fixture
def proxied(proxied_settings: Settings) -> Iterator[Services]:
    """The service reached through the proxy: the one whose COMMIT answer gets lost."""
    services = build_services(proxied_settings)
    yield services
    services.close()


@pytest.fixture
def direct(postgres_settings: Settings) -> Iterator[OrderingApplication]:
    """The same schema without the proxy, to see what is really stored."""
    application = OrderingApplication(env=postgres_settings.eventsourcing_env())
    yield application
    application.close()


@pytest.fixture
def problems_app(proxied_settings: Settings) -> Iterator[Flask]:
    """The HTTP layer's error handlers, to tell what status a raised error would answer."""
    app = create_app(proxied_settings)
    yield app
    app.extensions["ordering"].close()


def events_marker(settings: Settings) -> bytes:
    """Bytes only the event store's save sends (not the read model's)."""
    return f'"{settings.postgres_schema}".orders_events_save('.encode()


def with_commit_answer_lost(proxy: PgProxy, settings: Settings, command: Callable[[], T],
                            then_go_down: bool = False) -> Outcome:
    """Run the command with its event store COMMIT's answer lost (and, with ``then_go_down``,
    the database gone from that moment, so the command cannot look its events up either)."""
    proxy.drop_after_next_commit(only_if_transaction_contains=events_marker(settings),
                                 then_go_down=then_go_down)
    outcome = Outcome()
    started = time.monotonic()
    try:
        outcome.result = command()
    except Exception as error:
        outcome.error = error
    finally:
        outcome.seconds = time.monotonic() - started
        proxy.disarm()
    assert proxy.commit_dropped.wait(DROP_SEEN_SECONDS), "the proxy never saw the command's COMMIT"
    assert [d.tag for d in proxy.drops] == ["COMMIT"], (
        f"the withheld COMMIT must have committed on the server: {proxy.drops}")
    return outcome


def status_of(app: Flask, error: BaseException) -> tuple[int, str | None]:
    """What the HTTP layer answers for this error: (status, problem code)."""
    with app.test_request_context("/v1/orders"):
        response = app.make_response(app.handle_user_exception(error))  # type: ignore[arg-type]
        body = response.get_json(silent=True) or {}
        return response.status_code, body.get("code")


def assert_success_or_unavailable(app: Flask, outcome: Outcome) -> None:
    if outcome.error is None:
        return
    status, code = status_of(app, outcome.error)
    assert (status, code) == (503, "SERVICE_UNAVAILABLE"), (
        f"a command whose commit outcome is unknown must succeed or answer 503 SERVICE_UNAVAILABLE, "
        f"it raised {type(outcome.error).__name__}: {outcome.error} (answered {status} {code})")


def topics(application: OrderingApplication) -> Counter[str]:
    """Every stored event's topic suffix (``Order.OrderCreated``), counted."""
    counted: Counter[str] = Counter()
    start = 1
    while True:
        page = application.recorder.select_notifications(start=start, limit=1000)
        counted.update(n.topic.rpartition(":")[2] for n in page)
        if len(page) < 1000:
            return counted
        start = page[-1].id + 1


def order_events(application: OrderingApplication, code: str) -> Counter[str]:
    return Counter(type(entry.event).__name__ for entry in application.order_trail(code, None))


def reserved_order(services: Services) -> tuple[str, Decimal]:
    reservation = services.application.reserve_offers(context_of(1, "setup"), None, [ONE_TRAVELLER])
    return reservation.order.code, reservation.order.balance


def test_a_reservation_whose_commit_answer_is_lost_creates_one_order_and_holds_one_seat(
    pgproxy: PgProxy, proxied_settings: Settings, proxied: Services, direct: OrderingApplication,
    problems_app: Flask,
) -> None:
    app = proxied.application
    open_departure(app, seats=10)
    before = topics(direct)

    outcome = with_commit_answer_lost(
        pgproxy, proxied_settings, lambda: app.reserve_offers(context_of(1, "lost"), None, [ONE_TRAVELLER]))

    created = topics(direct) - before
    assert created["Order.OrderCreated"] == 1, (
        f"exactly one order must exist after the lost commit answer, found {created['Order.OrderCreated']} "
        f"(the command ran again: {outcome.error or 'returned normally'})")
    assert len(direct.seats.holds_on(BERGEN_DEPARTURE)) == 1, "one seat hold expected"
    assert direct.availability(BERGEN_DEPARTURE).reserved == 1
    assert_success_or_unavailable(problems_app, outcome)
    if outcome.error is None:
        code = outcome.result.order.code
        assert order_events(direct, code)["OrderLineAdded"] == 1
        assert direct.get_order(code, 1).balance == outcome.result.order.balance


def test_a_reservation_that_cannot_check_its_outcome_answers_503_and_never_runs_twice(
    pgproxy: PgProxy, proxied_settings: Settings, direct: OrderingApplication, problems_app: Flask,
) -> None:
    """The COMMIT's answer is lost and the database is gone at that instant: the command cannot
    tell whether its events were stored, so it answers 503 (bounded in time), and once the
    database is back the reservation turns out to exist exactly once."""
    settings = proxied_settings
    if "db_pool_timeout_seconds" in {f.name for f in fields(Settings)}:
        settings = replace(settings, db_pool_timeout_seconds=2)
    services = build_services(settings)
    try:
        app = services.application
        open_departure(app, seats=10)
        before = topics(direct)
        outcome = with_commit_answer_lost(
            pgproxy, settings, lambda: app.reserve_offers(context_of(1, "lost"), None, [ONE_TRAVELLER]),
            then_go_down=True)
        assert pgproxy.is_down
        pgproxy.come_back()

        created = topics(direct) - before
        assert created["Order.OrderCreated"] == 1, (
            f"the stored reservation must exist exactly once, found {created['Order.OrderCreated']}")
        assert direct.availability(BERGEN_DEPARTURE).reserved == 1
        assert outcome.error is not None, (
            "with the database gone the command cannot know its outcome; it may not report success "
            f"without having checked (it returned {outcome.result!r})")
        assert_success_or_unavailable(problems_app, outcome)
        assert outcome.seconds < 15, f"the 503 must come quickly, it took {outcome.seconds:.1f} s"

        deadline = time.monotonic() + 15
        while True:  # the same process recovers by itself once the database is back
            try:
                app.reserve_offers(context_of(1, "after"), None, [ONE_TRAVELLER])
                break
            except Exception as error:
                assert time.monotonic() < deadline, f"no recovery within 15 s: {error!r}"
                time.sleep(0.3)
        assert direct.availability(BERGEN_DEPARTURE).reserved == 2
    finally:
        services.close()


def test_a_payment_whose_commit_answer_is_lost_is_created_once(
    pgproxy: PgProxy, proxied_settings: Settings, proxied: Services, direct: OrderingApplication,
    problems_app: Flask,
) -> None:
    app = proxied.application
    open_departure(app, seats=10)
    code, balance = reserved_order(proxied)
    before = topics(direct)

    outcome = with_commit_answer_lost(
        pgproxy, proxied_settings,
        lambda: app.create_payment(context_of(1, "lost"), code, 1, balance, "VISA"))

    created = topics(direct) - before
    assert created["Payment.PaymentCreated"] == 1, (
        f"exactly one payment must exist, found {created['Payment.PaymentCreated']}")
    assert order_events(direct, code)["OrderLocked"] == 1
    order = direct.get_order(code, 1)
    assert order.lock is not None
    assert_success_or_unavailable(problems_app, outcome)
    if outcome.error is None:
        assert order.lock.payment_id == outcome.result.payment_id, (
            "the payment answered must be the one that locks the order")


def test_a_capture_whose_commit_answer_is_lost_captures_once_and_confirms(
    pgproxy: PgProxy, proxied_settings: Settings, proxied: Services, direct: OrderingApplication,
    problems_app: Flask,
) -> None:
    app = proxied.application
    open_departure(app, seats=10)
    code, balance = reserved_order(proxied)
    payment = app.create_payment(context_of(1, "setup"), code, 1, balance, "VISA")

    outcome = with_commit_answer_lost(
        pgproxy, proxied_settings, lambda: app.capture_payment(payment.payment_id, context_of(1, "lost")))

    trail = order_events(direct, code)
    assert trail["PaymentCaptured"] == 1, f"one capture expected in the order's trail: {dict(trail)}"
    assert trail["OrderConfirmed"] == 1, f"one confirmation expected: {dict(trail)}"
    assert topics(direct)["Payment.PaymentCaptured"] == 1
    assert direct.get_order(code, 1).status == "CONFIRMED"
    assert direct.get_payment(payment.payment_id, 1).status == "CAPTURED"
    assert_success_or_unavailable(problems_app, outcome)
    if outcome.error is None:
        assert outcome.result.status == "CAPTURED"


def test_the_events_of_one_command_carry_its_command_id(
    proxied: Services, direct: OrderingApplication
) -> None:
    """What the check after a lost answer looks for: every event with a context that one command
    saved (the order's; seat holds carry none) has the same ``commandId``; another command,
    another id, even under the same correlation id."""
    app = proxied.application
    open_departure(app, seats=10)
    before = direct.recorder.max_notification_id() or 0
    first = app.reserve_offers(context_of(1, "same-correlation"), None, [ONE_TRAVELLER])
    middle = direct.recorder.max_notification_id() or 0
    second = app.reserve_offers(context_of(1, "same-correlation"), None, [ONE_TRAVELLER])
    ids = []
    for start, stop in ((before + 1, middle), (middle + 1, None)):
        stored = direct.recorder.select_notifications(start=start, limit=100, stop=stop)
        events = [direct.mapper.to_domain_event(n) for n in stored]
        contexts = [c for c in (getattr(e, "context", None) for e in events) if c]
        assert contexts, f"the order's events carry a context: {[type(e).__name__ for e in events]}"
        assert all("commandId" in c for c in contexts), (
            f"every event context must carry commandId: {[sorted(c) for c in contexts]}")
        command_ids = {c["commandId"] for c in contexts}
        assert len(command_ids) == 1, f"one command, one commandId across its events: {command_ids}"
        ids.append(command_ids.pop())
    assert ids[0] != ids[1], "two commands (even with one correlation id) need two command ids"
    assert first.order.code != second.order.code


def test_reserve_offers_over_http_whose_commit_answer_is_lost_answers_once(
    pgproxy: PgProxy, proxied_settings: Settings, direct: OrderingApplication,
) -> None:
    app = create_app(proxied_settings)
    app.config["TESTING"] = True
    client = app.test_client()
    try:
        open_departure(app.extensions["ordering"].application(), seats=10)
        before = topics(direct)
        body = {"offerConfigurations": [{"offerId": ONE_TRAVELLER.offer_id,
                                         "selectedTravellerIds": ONE_TRAVELLER.selected_traveller_ids}]}
        outcome = with_commit_answer_lost(
            pgproxy, proxied_settings,
            lambda: client.post("/v1/reserve-offers", json=body, headers=auth_headers()))
        assert outcome.error is None, f"the HTTP layer must answer, not raise: {outcome.error!r}"
        response = outcome.result
        created = topics(direct) - before
        assert created["Order.OrderCreated"] == 1, (
            f"exactly one order must exist, found {created['Order.OrderCreated']} "
            f"(answer {response.status_code} {response.get_data(as_text=True)[:300]})")
        assert direct.availability(BERGEN_DEPARTURE).reserved == 1
        assert response.status_code in (200, 503), response.get_data(as_text=True)
        if response.status_code == 200:
            code = response.get_json()["orderId"]
            assert order_events(direct, code)["OrderCreated"] == 1
        else:
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["code"] == "SERVICE_UNAVAILABLE"
            assert int(response.headers.get("Retry-After", "0")) > 0
    finally:
        app.extensions["ordering"].close()
