"""The application service on the in-memory event store: versions, scoping, retries, trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from ordering.application import OrderingApplication
from ordering.domain.errors import ConcurrentModification, InvalidRequest, OrderNotFound, VersionNotFound
from ordering.domain.order import Order
from tests.builders import a_line, captured, context_of
from tests.conftest import FakeClock

CTX = context_of(1)


def add_and_pay(app: OrderingApplication, code: str, amount: str = "100.00") -> Order:
    def act(order: Order) -> None:
        order.add_lines([a_line(amount)], app.clock(), app.clock() + timedelta(minutes=20),
                        CTX.as_event_data())
        order.register_capture(captured(str(order.balance)), app.clock(), CTX.as_event_data())

    return app._change(code, CTX, act)


def test_an_earlier_confirmed_version_is_returned_as_it_was_confirmed(
    memory_application: OrderingApplication,
) -> None:
    code = memory_application.create_order(CTX).code
    add_and_pay(memory_application, code, "100.00")
    add_and_pay(memory_application, code, "50.00")
    current = memory_application.get_order(code, 1)
    first = memory_application.get_order(code, 1, version=1)
    assert (current.order_version, current.total_amount) == (2, 150)
    assert (first.order_version, first.total_amount, first.status) == (1, 100, "CONFIRMED")
    assert memory_application.get_order(code, 1, version=2).total_amount == 150


def test_a_version_never_confirmed_is_not_found(memory_application: OrderingApplication) -> None:
    code = memory_application.create_order(CTX).code
    with pytest.raises(VersionNotFound):
        memory_application.get_order(code, 1, version=2)
    assert memory_application.get_order(code, 1, version=1).order_version == 1


def test_another_organisations_order_is_not_found(memory_application: OrderingApplication) -> None:
    code = memory_application.create_order(CTX).code
    with pytest.raises(OrderNotFound):
        memory_application.get_order(code, 2)
    with pytest.raises(OrderNotFound):
        memory_application.update_order(code, context_of(2), {"external_reference": "x"})


def test_ids_that_are_not_order_ids_are_not_found(memory_application: OrderingApplication) -> None:
    for bad in ("", "K7QF3M2", "K7QF3M2XX", "O0I1O0I1", "'; drop--"):
        with pytest.raises(OrderNotFound):
            memory_application.get_order(bad, 1)


def test_expire_at_in_the_past_or_beyond_six_months_is_refused(
    memory_application: OrderingApplication, clock: FakeClock
) -> None:
    for moment in (clock.now - timedelta(seconds=1), clock.now + timedelta(days=200)):
        with pytest.raises(InvalidRequest):
            memory_application.create_order(CTX, expire_at=moment)


def test_a_command_that_loses_a_race_is_retried_on_fresh_state(
    memory_application: OrderingApplication,
) -> None:
    code = memory_application.create_order(CTX).code
    interfered = []

    def change(order: Order) -> None:
        if not interfered:  # another writer saves between our load and our save
            interfered.append(memory_application.update_order(code, CTX, {"external_reference": "a"}))
        order.update({"contact_info": {"name": "b"}}, CTX.as_event_data())

    memory_application._change(code, CTX, change)
    order = memory_application.get_order(code, 1)
    assert (order.external_reference, order.contact_info) == ("a", {"name": "b"})


def test_a_command_that_keeps_losing_gives_up_with_concurrent_modification(
    memory_application: OrderingApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = memory_application.create_order(CTX).code

    def always_conflicts(*aggregates: object) -> None:
        raise IntegrityError("conflict")

    monkeypatch.setattr(memory_application, "save", always_conflicts)
    with pytest.raises(ConcurrentModification):
        memory_application.update_order(code, CTX, {"external_reference": "x"})


def test_expire_is_idempotent_and_only_acts_when_due(
    memory_application: OrderingApplication, clock: FakeClock
) -> None:
    code = memory_application.create_order(CTX).code
    add_and_pay(memory_application, code)
    memory_application._change(code, CTX, lambda o: o.add_lines(
        [a_line("30.00")], clock.now, clock.now + timedelta(minutes=20), CTX.as_event_data()))
    assert not memory_application.expire_order(code, clock.now)
    due = clock.advance(minutes=20)
    assert memory_application.expire_order(code, due)
    assert not memory_application.expire_order(code, due)
    order = memory_application.get_order(code, 1)
    assert (order.status, order.order_version, order.total_amount) == ("CONFIRMED", 1, 100)


def test_the_trail_lists_every_event_with_the_business_version_after_it(
    memory_application: OrderingApplication,
) -> None:
    code = memory_application.create_order(CTX).code
    add_and_pay(memory_application, code)
    add_and_pay(memory_application, code)
    trail = memory_application.order_trail(code, 1)
    assert [(type(e.event).__name__, e.order_version) for e in trail] == [
        ("OrderCreated", 1), ("OrderLineAdded", 1), ("PaymentCaptured", 1), ("OrderConfirmed", 1),
        ("OrderLineAdded", 2), ("PaymentCaptured", 2), ("OrderConfirmed", 2),
    ]
    assert [e.sequence for e in trail] == list(range(1, 8))


def test_expiring_a_batch_that_meets_a_conflict_falls_back_to_one_order_at_a_time(
    memory_application: OrderingApplication, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = [memory_application.create_order(CTX).code for _ in range(3)]
    for code in codes:
        memory_application._change(code, CTX, lambda o: o.add_lines(
            [a_line()], clock.now, clock.now + timedelta(minutes=20), CTX.as_event_data()))
    real_save, calls = memory_application.save, []

    def conflicting_once(*aggregates: object) -> object:
        calls.append(len(aggregates))
        if len(calls) == 1:
            raise IntegrityError("someone else wrote first")
        return real_save(*aggregates)  # type: ignore[arg-type]

    monkeypatch.setattr(memory_application, "save", conflicting_once)
    assert memory_application.expire_orders(codes, clock.advance(minutes=21)) == 3
    assert calls == [3, 1, 1, 1]
    assert all(memory_application.get_order(c, 1).lines == [] for c in codes)
