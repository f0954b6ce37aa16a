"""An order's history read back: what changed between two versions, and which event stood at a time.

Pure functions over order *state* (lines, fees, payment references, seats, totals), never over
event names, so changes made by events added later (fees, cancellations, refunds) are covered
without touching this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

from ordering.domain.errors import NotFound
from ordering.domain.order_state import CANCELLED, REPLACED
from ordering.domain.values import Fee, OrderLine, PaymentRef, SeatReservation, Supplement

T = TypeVar("T")


class VersionState(Protocol):
    """What the diff reads of an order at one version (``OrderState`` has it all)."""

    @property
    def order_version(self) -> int: ...
    @property
    def lines(self) -> list[OrderLine]: ...
    @property
    def fees(self) -> list[Fee]: ...
    @property
    def payment_refs(self) -> list[PaymentRef]: ...
    @property
    def reservations(self) -> list[SeatReservation]: ...
    @property
    def total_amount(self) -> Decimal: ...
    @property
    def total_tax_amount(self) -> Decimal: ...
    @property
    def balance(self) -> Decimal: ...


class NoVersionAt(NotFound):
    """Time travel to before the order existed."""

    code = "VERSION_NOT_FOUND"
    title = "Order version not found"

    def __init__(self, order_id: str, at: datetime) -> None:
        super().__init__(f"Order {order_id} did not exist at {at.isoformat()}", "at")


@dataclass(frozen=True)
class Totals:
    total_amount: Decimal
    total_tax_amount: Decimal
    balance: Decimal

    @classmethod
    def of(cls, state: VersionState) -> Totals:
        return cls(state.total_amount, state.total_tax_amount, state.balance)


@dataclass(frozen=True)
class LinesReplaced:
    original_order_line_ids: tuple[str, ...]
    replaced_by_order_line_ids: tuple[str, ...]


@dataclass(frozen=True)
class SupplementAdded:
    order_line_id: str
    supplement: Supplement


@dataclass(frozen=True)
class VersionChanges:
    """What differs between the order at ``from_version`` and at ``to_version``."""

    from_version: int
    to_version: int
    lines_added: list[OrderLine]
    lines_replaced: list[LinesReplaced]
    lines_cancelled: list[str]
    supplements_added: list[SupplementAdded]
    fees_added: list[Fee]
    fees_removed: list[Fee]
    payment_refs: list[PaymentRef]
    seats_held: list[str]
    seats_released: list[str]
    totals_before: Totals
    totals_after: Totals


def changes_between(before: VersionState, after: VersionState) -> VersionChanges:
    """Lines added (replacements included), replaced and cancelled; supplements added to lines;
    fees added and removed; payments and credits registered; seats held and released; totals."""
    old_lines = {line.id: line for line in before.lines}
    return VersionChanges(
        from_version=before.order_version,
        to_version=after.order_version,
        lines_added=[line for line in after.lines if line.id not in old_lines],
        lines_replaced=_replacements(old_lines, after.lines),
        lines_cancelled=[line.id for line in after.lines if line.status == CANCELLED
                         and _status_of(old_lines, line.id) != CANCELLED],
        supplements_added=_supplements_added(old_lines, after.lines),
        fees_added=_added(before.fees, after.fees, lambda fee: fee.id),
        fees_removed=_added(after.fees, before.fees, lambda fee: fee.id),
        payment_refs=_added(before.payment_refs, after.payment_refs, _payment_key),
        seats_held=[r.id for r in _added(before.reservations, after.reservations, _reservation_key)],
        seats_released=[r.id for r in _added(after.reservations, before.reservations, _reservation_key)],
        totals_before=Totals.of(before),
        totals_after=Totals.of(after),
    )


def _status_of(lines: dict[str, OrderLine], line_id: str) -> str | None:
    found = lines.get(line_id)
    return found.status if found else None


def _replacements(old_lines: dict[str, OrderLine], new_lines: Sequence[OrderLine]) -> list[LinesReplaced]:
    """Lines that became ``REPLACED``, grouped by the lines that replace them (many to one)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for line in new_lines:
        if line.status == REPLACED and _status_of(old_lines, line.id) != REPLACED:
            groups.setdefault(tuple(line.replaced_by_order_line_ids), []).append(line.id)
    return [LinesReplaced(tuple(originals), by) for by, originals in groups.items()]


def _supplements_added(old_lines: dict[str, OrderLine],
                       new_lines: Sequence[OrderLine]) -> list[SupplementAdded]:
    """Supplement products a line has now and did not have before (a new line had none)."""
    added: list[SupplementAdded] = []
    for line in new_lines:
        old = old_lines.get(line.id)
        had = Counter(old.supplement_products if old else ())
        for supplement in line.supplement_products:
            if had[supplement] > 0:
                had[supplement] -= 1
            else:
                added.append(SupplementAdded(line.id, supplement))
    return added


def _added(before: Sequence[T], after: Sequence[T], key: Callable[[T], object]) -> list[T]:
    """What ``after`` holds and ``before`` does not, in ``after``'s order."""
    known = {key(item) for item in before}
    return [item for item in after if key(item) not in known]


def _payment_key(ref: PaymentRef) -> object:
    return (ref.payment_id, ref.credit_id, ref.status)


def _reservation_key(reservation: SeatReservation) -> object:
    return reservation.id


# A command reads its clock, then records its events: the order's own times (createdAt,
# lastConfirmedAt, capturedAt) fall a moment before the events' record times.
SAME_MOMENT = timedelta(seconds=5)


def event_instant(recorded: datetime, business: object) -> datetime:
    """When an event happened, for time travel: the command's clock reading that the event
    carries (``at``, ``created_at``) when it is the moment just before the event was recorded,
    so that ``?at=<createdAt>`` or ``?at=<lastConfirmedAt>`` shows the order as those say; else
    the event's record time."""
    if isinstance(business, datetime) and business.tzinfo is not None \
            and recorded - SAME_MOMENT <= business <= recorded:
        return business
    return recorded


def version_at(timestamps: Callable[[int], datetime], last_version: int, at: datetime) -> int:
    """The newest event version whose timestamp is at or before ``at``, found by bisection over
    versions 1..``last_version`` (timestamps grow with the version). 0: before the first event."""
    if timestamps(1) > at:
        return 0
    low, high = 1, last_version + 1  # timestamps(low) <= at; high is past the end or after at
    while high - low > 1:
        middle = (low + high) // 2
        if timestamps(middle) <= at:
            low = middle
        else:
            high = middle
    return low
