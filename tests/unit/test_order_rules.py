"""The Order aggregate's rules, straight on the domain object."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordering.domain.errors import (
    InvalidRequest,
    NothingToFail,
    OrderEmpty,
    OrderLocked,
    OrderNotBalanced,
    OrderNotDraft,
)
from ordering.domain.order import Order
from tests.builders import CONTEXT, a_line, captured

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TTL = timedelta(minutes=20)
CTX = CONTEXT.as_event_data()


def new_order(expire_at: datetime | None = None) -> Order:
    return Order(code="K7QF3M2X", organisation_id=1, created_by="tester", pos="Entur-APP",
                 distribution_channel_id="web", currency="NOK", created_at=T0,
                 expire_at=expire_at or T0 + TTL, expire_at_set_by_client=expire_at is not None,
                 contact_info=None, external_reference=None, context=CTX)


def add(order: Order, at: datetime, amount: str = "100.00") -> None:
    order.add_lines([a_line(amount)], at, at + TTL, CTX)


def pay_all(order: Order, at: datetime) -> None:
    order.register_capture(captured(str(order.balance)), at, CTX)


def confirmed_order_with_one_line() -> Order:
    order = new_order()
    add(order, T0)
    pay_all(order, T0)
    return order


def test_a_new_order_is_an_empty_draft_at_version_1() -> None:
    order = new_order()
    assert (order.status, order.order_version, order.balance) == ("DRAFT", 1, Decimal("0.00"))
    assert order.expire_at == T0 + TTL
    assert not order.has_unconfirmed_changes


def test_confirming_an_empty_order_is_refused() -> None:
    with pytest.raises(OrderEmpty):
        new_order().confirm(T0, CTX)


def test_confirming_an_unbalanced_order_is_refused() -> None:
    order = new_order()
    add(order, T0)
    with pytest.raises(OrderNotBalanced):
        order.confirm(T0, CTX)


def test_confirming_a_confirmed_order_is_refused() -> None:
    with pytest.raises(OrderNotDraft):
        confirmed_order_with_one_line().confirm(T0, CTX)


def test_capturing_the_whole_balance_confirms_the_order_and_its_lines() -> None:
    order = confirmed_order_with_one_line()
    assert order.status == "CONFIRMED" and order.balance == Decimal("0.00")
    assert [line.status for line in order.lines] == ["CONFIRMED"]
    assert order.last_confirmed_at == T0


def test_totals_are_exact_decimal_sums_of_active_lines() -> None:
    order = new_order()
    for amount in ("0.10", "0.20", "899.00"):
        add(order, T0, amount)
    assert order.total_amount == Decimal("899.30")
    assert order.total_tax_amount == Decimal("32.13")


def test_adding_a_line_to_a_confirmed_order_opens_the_next_version_with_a_fresh_expiry() -> None:
    order = confirmed_order_with_one_line()
    later = T0 + timedelta(hours=3)
    add(order, later)
    assert (order.status, order.order_version) == ("DRAFT", 2)
    assert order.expire_at == later + TTL
    assert order.lines[-1].version == 2


def test_changes_to_a_draft_keep_its_version_and_move_its_expiry() -> None:
    order = new_order()
    add(order, T0)
    add(order, T0 + timedelta(minutes=5))
    assert order.order_version == 1
    assert order.expire_at == T0 + timedelta(minutes=5) + TTL


def test_an_expiry_chosen_by_the_client_is_kept_while_the_version_lasts() -> None:
    chosen = T0 + timedelta(hours=2)
    order = new_order(expire_at=chosen)
    add(order, T0 + timedelta(minutes=1))
    assert order.expire_at == chosen


def test_header_updates_never_change_status_or_version() -> None:
    order = confirmed_order_with_one_line()
    order.update({"external_reference": "ref-1", "contact_info": {"email": "a@b.no"}}, CTX)
    assert (order.status, order.order_version, order.external_reference) == ("CONFIRMED", 1, "ref-1")
    assert not order.has_unconfirmed_changes


def test_reset_restores_the_last_confirmed_version_and_keeps_header_fields() -> None:
    order = confirmed_order_with_one_line()
    add(order, T0 + timedelta(minutes=1), "50.00")
    order.update({"external_reference": "kept"}, CTX)
    assert order.reset(T0 + timedelta(minutes=2), CTX)
    assert (order.status, order.order_version, len(order.lines)) == ("CONFIRMED", 1, 1)
    assert order.total_amount == Decimal("100.00") and order.balance == Decimal("0.00")
    assert order.external_reference == "kept"


def test_reset_of_a_never_confirmed_order_restores_the_initial_empty_draft() -> None:
    order = new_order()
    add(order, T0)
    order.reset(T0, CTX)
    assert (order.status, order.order_version, order.lines, order.travellers) == ("DRAFT", 1, [], [])


def test_reset_with_nothing_unconfirmed_emits_no_event() -> None:
    order = confirmed_order_with_one_line()
    pending = len(order.collect_events())
    assert not order.reset(T0, CTX)
    assert pending > 0 and order.collect_events() == []


def test_reset_names_the_lines_and_seats_it_scraps() -> None:
    order = confirmed_order_with_one_line()
    order.add_lines([a_line(seats=2)], T0, T0 + TTL, CTX)
    scrapped = order.lines[-1]
    order.reset(T0, CTX)
    reverted = order.collect_events()[-1].reverted  # type: ignore[attr-defined]
    assert reverted["scrappedOrderLineIds"] == [scrapped.id]
    assert reverted["releasedReservationIds"] == list(scrapped.reservation_ids)
    assert (reverted["fromVersion"], reverted["toVersion"]) == (2, 1)


def test_an_order_expires_at_its_deadline_and_not_before() -> None:
    order = new_order()
    add(order, T0)
    deadline = order.expire_at
    assert not order.expire(deadline - timedelta(seconds=1), deadline, CTX)
    assert order.expire(deadline, deadline, CTX)
    assert order.lines == [] and not order.has_unconfirmed_changes
    assert not order.expire(deadline + timedelta(hours=1), deadline, CTX)


def test_an_order_with_nothing_unconfirmed_never_expires() -> None:
    order = confirmed_order_with_one_line()
    far = T0 + timedelta(days=30)
    assert not order.expire(far, far, CTX)


def test_a_locked_order_refuses_changes_but_can_be_unlocked() -> None:
    order = new_order()
    add(order, T0)
    order.lock_for_payment("payment-1", T0, CTX)
    for change in (lambda: add(order, T0), lambda: order.confirm(T0, CTX),
                   lambda: order.reset(T0, CTX), lambda: order.update({"external_reference": "x"}, CTX)):
        with pytest.raises(OrderLocked):
            change()
    assert order.unlock("UNLOCKED", T0, CTX) == "payment-1"
    assert order.unlock("UNLOCKED", T0, CTX) is None


def test_a_locked_order_expires_only_once_its_lock_timed_out() -> None:
    order = new_order()
    add(order, T0)
    locked_at = T0 + timedelta(minutes=19)
    order.lock_for_payment("payment-1", locked_at, CTX)
    after_deadline = T0 + timedelta(minutes=25)
    lock_timeout = timedelta(minutes=10)
    assert not order.expire(after_deadline, after_deadline - lock_timeout, CTX)
    later = locked_at + lock_timeout
    assert order.expire(later, later - lock_timeout, CTX)
    types = [type(e).__name__ for e in order.collect_events()][-2:]
    assert types == ["OrderUnlocked", "OrderExpired"] and not order.locked


def order_waiting_on_a_pending_line(amount: str = "0.00") -> Order:
    order = new_order()
    add(order, T0, amount)
    add(order, T0, amount)
    order.lines[0] = replace(order.lines[0], external_confirmation="PENDING")
    return order


def test_failing_marks_pending_lines_failed_and_confirms_the_paid_order_as_failed() -> None:
    order = order_waiting_on_a_pending_line()
    assert order.fail(None, T0, CTX)
    assert (order.status, order.failed) == ("CONFIRMED", True)
    assert [line.external_confirmation for line in order.lines] == ["FAILED", None]
    assert not order.fail(None, T0, CTX)


def test_an_order_with_no_pending_line_has_nothing_to_fail() -> None:
    order = new_order()
    add(order, T0, "0.00")
    with pytest.raises(NothingToFail):
        order.fail(None, T0, CTX)
    assert (order.status, order.failed) == ("DRAFT", False)


def test_an_unpaid_order_waiting_on_a_pending_line_cannot_fail() -> None:
    order = order_waiting_on_a_pending_line("100.00")
    with pytest.raises(OrderNotBalanced):
        order.fail(None, T0, CTX)
    assert (order.status, order.failed) == ("DRAFT", False)


def test_failing_a_line_that_is_not_pending_is_refused() -> None:
    order = order_waiting_on_a_pending_line()
    with pytest.raises(InvalidRequest):
        order.fail([order.lines[1].id], T0, CTX)
    assert order.status == "DRAFT"


def test_replaying_the_events_rebuilds_the_same_order() -> None:
    order = confirmed_order_with_one_line()
    add(order, T0, "20.00")
    order.reset(T0, CTX)
    events = order.collect_events()
    replayed = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)
    assert vars(replayed) == vars(order)
