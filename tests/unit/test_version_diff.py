"""The version diff and the time-travel bisection as pure functions over order state."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ordering.domain.history import (
    LinesReplaced,
    SupplementAdded,
    Totals,
    changes_between,
    event_instant,
    version_at,
)
from ordering.domain.values import Fee, OrderLine, PaymentRef, Price, SeatReservation, Supplement
from tests.builders import a_line, captured


@dataclass
class State:
    """An order's state at one version, as the diff reads it."""

    order_version: int
    lines: list[OrderLine] = field(default_factory=list)
    fees: list[Fee] = field(default_factory=list)
    payment_refs: list[PaymentRef] = field(default_factory=list)
    reservations: list[SeatReservation] = field(default_factory=list)
    total_amount: Decimal = Decimal("0.00")
    total_tax_amount: Decimal = Decimal("0.00")
    balance: Decimal = Decimal("0.00")


def confirmed(amount: str = "100.00", seats: int = 0) -> tuple[OrderLine, list[SeatReservation]]:
    addition = a_line(amount, seats=seats)
    return addition.line.with_status("CONFIRMED"), addition.reservations


def fee(fee_type: str = "MANUAL", amount: str = "50.00") -> Fee:
    return Fee(f"fee-{fee_type}-{amount}", fee_type, Price(Decimal(amount), "NOK", Decimal("0.00")), "why")


def test_nothing_changed_gives_empty_lists_and_equal_totals() -> None:
    line, seats = confirmed(seats=1)
    state = State(1, [line], [], [captured("100.00")], seats, Decimal("100.00"))
    diff = changes_between(state, replace(state, order_version=2))
    assert (diff.from_version, diff.to_version) == (1, 2)
    assert not any([diff.lines_added, diff.lines_replaced, diff.lines_cancelled, diff.supplements_added,
                    diff.fees_added, diff.fees_removed, diff.payment_refs, diff.seats_held,
                    diff.seats_released])
    unchanged = Totals(Decimal("100.00"), Decimal("0.00"), Decimal("0.00"))
    assert diff.totals_before == diff.totals_after == unchanged


def test_a_many_to_one_replacement_is_one_group_and_its_new_line_is_added() -> None:
    first, first_seats = confirmed(seats=1)
    second, second_seats = confirmed(seats=1)
    new = a_line("300.00", seats=1)
    by = (new.line.id,)
    after = State(2, [replace(first, status="REPLACED", replaced_by_order_line_ids=by),
                      replace(second, status="REPLACED", replaced_by_order_line_ids=by),
                      replace(new.line, replaces_order_line_ids=(first.id, second.id))],
                  reservations=new.reservations)
    diff = changes_between(State(1, [first, second], reservations=first_seats + second_seats), after)
    assert [line.id for line in diff.lines_added] == [new.line.id]
    assert diff.lines_replaced == [LinesReplaced((first.id, second.id), by)]
    assert diff.seats_held == [new.reservations[0].id]
    assert diff.seats_released == [first_seats[0].id, second_seats[0].id]


def test_lines_cancelled_are_those_that_became_cancelled() -> None:
    kept, _ = confirmed()
    gone, _ = confirmed()
    already = replace(confirmed()[0], status="CANCELLED")
    before = State(1, [kept, gone, already])
    after = State(2, [kept, replace(gone, status="CANCELLED"), already], fees=[fee("MANUAL", "100.00")])
    diff = changes_between(before, after)
    assert diff.lines_cancelled == [gone.id]
    assert [f.type for f in diff.fees_added] == ["MANUAL"]


def test_supplements_added_to_a_line_count_only_the_new_ones() -> None:
    bike = Supplement("bike1", Price(Decimal("150.00"), "NOK", Decimal("16.07")), "Bicycle", "BICYCLE")
    line, _ = confirmed()
    with_one = line.with_supplements([bike])
    with_three = with_one.with_supplements([bike.times(2)])
    diff = changes_between(State(1, [with_one]), State(2, [with_three]))
    assert diff.supplements_added == [SupplementAdded(line.id, bike.times(2))]


def test_fees_removed_payments_and_credits_registered() -> None:
    paid = captured("100.00")
    credit = PaymentRef(None, "CREDITED", Decimal("40.00"), "NOK", None, datetime(2026, 11, 22, tzinfo=UTC),
                        "credit-1")
    before = State(1, fees=[fee("BOOKING", "10.00"), fee("PENALTY", "5.00")], payment_refs=[paid])
    after = State(2, fees=[fee("PENALTY", "5.00")], payment_refs=[paid, credit], balance=Decimal("-40.00"))
    diff = changes_between(before, after)
    assert [f.type for f in diff.fees_removed] == ["BOOKING"] and diff.fees_added == []
    assert diff.payment_refs == [credit]
    assert diff.totals_after.balance == Decimal("-40.00")


def test_version_at_bisects_reading_few_timestamps() -> None:
    start = datetime(2026, 11, 22, 10, tzinfo=UTC)
    stamps = [start + timedelta(seconds=10 * n) for n in range(1000)]  # version n+1 at 10n s
    read: list[int] = []

    def timestamp(version: int) -> datetime:
        read.append(version)
        return stamps[version - 1]

    assert version_at(timestamp, 1000, start + timedelta(seconds=4005)) == 401
    assert len(read) <= 12
    assert version_at(timestamp, 1000, start + timedelta(seconds=4010)) == 402  # the instant itself counts
    assert version_at(timestamp, 1000, start - timedelta(seconds=1)) == 0
    assert version_at(timestamp, 1000, start) == 1
    assert version_at(timestamp, 1000, start + timedelta(days=1)) == 1000


def test_an_events_instant_is_the_commands_clock_reading_just_before_it_was_recorded() -> None:
    recorded = datetime(2026, 11, 22, 10, 0, 0, 500, tzinfo=UTC)
    just_before = recorded - timedelta(microseconds=300)
    assert event_instant(recorded, just_before) == just_before
    assert event_instant(recorded, None) == recorded
    assert event_instant(recorded, "not a time") == recorded
    assert event_instant(recorded, recorded - timedelta(days=9)) == recorded  # another clock: not that moment
    assert event_instant(recorded, recorded + timedelta(seconds=1)) == recorded
