"""The Order aggregate: every change is an event, folding the events rebuilds every version.

Decorated mutators (``@event``) run again on every replay, so they only assign state: the
public command methods validate first and pass in everything (times included) the event needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import (
    ChangeNotAllowed,
    ExternalConfirmationPending,
    FeeConfirmed,
    FeeNotFound,
    InvalidRequest,
    NothingToFail,
    OrderEmpty,
    OrderNotBalanced,
    OrderNotDraft,
    RefundExceedsPaid,
)
from ordering.domain.legacy import reservations_from, travellers_from, upcast_content
from ordering.domain.money import ZERO, total
from ordering.domain.order_ids import order_uuid
from ordering.domain.order_state import (
    CANCELLED,
    CONFIRMED,
    DRAFT,
    FAILED,
    PENDING,
    REPLACED,
    SCRAPPED,
    OrderState,
)
from ordering.domain.values import (
    MANUAL,
    Fee,
    Lock,
    OrderLine,
    PaymentRef,
    SeatReservation,
    Traveller,
)

Context = dict[str, Any]


@dataclass(frozen=True)
class LineAddition:
    """An order line with the travellers and seat reservations it brings into the order."""

    line: OrderLine
    travellers: list[Traveller] = field(default_factory=list)
    reservations: list[SeatReservation] = field(default_factory=list)


class Order(Aggregate, OrderState):
    class_version = 2  # v1 snapshots hold lines, travellers, seats and payments as dicts

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        upcast_content(state)
        if isinstance(state.get("lock"), dict):
            state["lock"] = Lock.from_wire(state["lock"])
        upcast_content(state["last_confirmed_state"])

    class OrderLineAdded(Aggregate.Event):
        class_version = 2  # v1 stored the line, its travellers and seats as dicts
        line: OrderLine
        travellers: list[Traveller]
        reservations: list[SeatReservation]
        expire_at: datetime
        context: Context

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["line"] = OrderLine.from_wire(state["line"])
            state["travellers"] = travellers_from(state["travellers"])
            state["reservations"] = reservations_from(state["reservations"])

    class PaymentCaptured(Aggregate.Event):
        class_version = 2  # v1 stored the payment reference as a dict
        payment_ref: PaymentRef
        at: datetime
        context: Context

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["payment_ref"] = PaymentRef.from_wire(state["payment_ref"])

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return order_uuid(code)

    @event("OrderCreated")
    def __init__(self, code: str, organisation_id: int, created_by: str, pos: str | None,
                 distribution_channel_id: str | None, currency: str, created_at: datetime,
                 expire_at: datetime, expire_at_set_by_client: bool,
                 contact_info: dict[str, Any] | None, external_reference: str | None,
                 context: Context) -> None:
        self.code = code
        self.organisation_id = organisation_id
        self.created_by = created_by
        self.pos = pos
        self.distribution_channel_id = distribution_channel_id
        self.currency = currency
        self.created_at = created_at
        self.contact_info = contact_info
        self.external_reference = external_reference
        self.special_order_cause: dict[str, Any] | None = None
        self.order_version = 1
        self.status = DRAFT
        self.failed = False
        self.last_confirmed_at: datetime | None = None
        self.expire_at = expire_at
        self.expire_at_set_by_client = expire_at_set_by_client
        self.lock: Lock | None = None
        self.lines: list[OrderLine] = []
        self.travellers: list[Traveller] = []
        self.fees: list[Fee] = []
        self.payment_refs: list[PaymentRef] = []
        self.reservations: list[SeatReservation] = []
        self.has_unconfirmed_changes = False
        self.confirmed_versions: dict[str, int] = {}
        self.last_confirmed_state = self._version_state()

    # ----------------------------------------------------------------- commands

    def update(self, changes: dict[str, Any], context: Context) -> None:
        """Header fields and ``expireAt``; never changes status or version."""
        self.refuse_if_locked()
        if changes:
            self._updated(changes=changes, context=context)

    def confirm(self, now: datetime, context: Context) -> None:
        self.refuse_if_locked()
        if self.status != DRAFT:
            raise OrderNotDraft(f"Order {self.code} is already {self.status}")
        if not self.active_lines and not self.confirmed_versions:
            raise OrderEmpty(f"Order {self.code} has no active order lines")
        if self.balance != ZERO:
            raise OrderNotBalanced(f"Order {self.code} has balance {self.balance}, not 0.00")
        if self.pending_lines:
            raise ExternalConfirmationPending(f"Order {self.code} waits for external confirmation")
        self._confirmed(at=now, context=context)

    def confirm_lines(self, order_line_ids: list[str] | None, now: datetime, context: Context) -> bool:
        """A third party confirmed these lines (default: every one waiting): ``SUCCESS``. With none
        left waiting, a paid draft confirms in the same step. False: nothing was waiting."""
        self.refuse_if_locked()
        waiting = [line.id for line in self.active_lines if line.external_confirmation == PENDING]
        chosen = waiting if order_line_ids is None else list(dict.fromkeys(order_line_ids))
        not_waiting = [line_id for line_id in chosen if line_id not in waiting]
        if not_waiting:
            raise InvalidRequest("Not order lines waiting for external confirmation: "
                                 f"{', '.join(not_waiting)}", "orderLineIds")
        if chosen:
            self._lines_confirmed(order_line_ids=chosen, at=now, context=context)
        if self.confirms_now:
            self._confirmed(at=now, context=context)
        return bool(chosen) or self.status == CONFIRMED

    def fail(self, order_line_ids: list[str] | None, now: datetime, context: Context) -> bool:
        """Mark pending lines as failed and the paid order CONFIRMED+failed. False when it is
        already confirmed or failed (nothing to do); only a paid order waiting on a PENDING
        line can fail."""
        self.refuse_if_locked()
        if self.status != DRAFT or self.failed:
            return False
        if not self.pending_lines:
            raise NothingToFail(f"Order {self.code} has no order line waiting for external confirmation")
        if self.balance != ZERO:
            raise OrderNotBalanced(f"Order {self.code} has balance {self.balance}: "
                                   "only a paid order can fail")
        line_ids = self._lines_to_fail(order_line_ids)
        self._failed(order_line_ids=line_ids, at=now, context=context)
        return True

    def reset(self, now: datetime, context: Context) -> str | None:
        """Scrap unconfirmed changes now (``SCRAPPED``); a paid order waiting for external
        confirmation is never scrapped: it fails (``FAILED``). None: nothing to scrap."""
        self.refuse_if_locked()
        if not self.has_unconfirmed_changes:
            return None
        if self.awaiting_external_confirmation:
            return self._fail_waiting(now, context)
        self._reset(at=now, reverted=self._what_a_revert_scraps(), context=context)
        return SCRAPPED

    def expire(self, now: datetime, lock_deadline: datetime, context: Context) -> str | None:
        """Expire when due (a timed-out lock is lifted first): ``SCRAPPED``, or ``FAILED`` for a
        paid order waiting for external confirmation. None: not due."""
        if not self.is_due_to_expire(now, lock_deadline):
            return None
        if self.lock is not None:
            self._unlocked(payment_id=self.lock.payment_id, reason="LOCK_TIMED_OUT", at=now,
                           context=context)
        if self.awaiting_external_confirmation:
            return self._fail_waiting(now, context)
        self._expired(at=now, reverted=self._what_a_revert_scraps(), context=context)
        return SCRAPPED

    def _fail_waiting(self, now: datetime, context: Context) -> str:
        self._failed(order_line_ids=[line.id for line in self.pending_lines], at=now, context=context)
        return FAILED

    def add_lines(self, additions: list[LineAddition], now: datetime, default_expire_at: datetime,
                  context: Context) -> None:
        """Reserve offers into the order: one ``OrderLineAdded`` per line."""
        self.refuse_content_change()
        expire_at = self.content_change_expiry(now, default_expire_at)
        for addition in additions:
            self._line_added(line=addition.line, travellers=addition.travellers,
                             reservations=addition.reservations, expire_at=expire_at,
                             context=context)

    def register_capture(self, payment_ref: PaymentRef, now: datetime, context: Context) -> None:
        """A captured payment counts on the balance; at 0.00 the order confirms in the same save."""
        self._payment_captured(payment_ref=payment_ref, at=now, context=context)
        if self.confirms_now:
            self._confirmed(at=now, context=context)

    def register_credit(self, credit_ref: PaymentRef, reason: str, now: datetime, context: Context) -> None:
        """Pay back what the customer is owed, never more than was captured; at 0.00 the order
        confirms in the same save."""
        if credit_ref.amount > self.creditable:
            raise RefundExceedsPaid(f"Order {self.code} has {self.creditable} captured and not yet "
                                    f"credited, not {credit_ref.amount}")
        self._payment_credited(payment_ref=credit_ref, reason=reason, at=now, context=context)
        if self.confirms_now:
            self._confirmed(at=now, context=context)

    def add_supplements(self, lines: list[OrderLine], now: datetime, default_expire_at: datetime,
                        context: Context) -> None:
        """The lines with supplement products added (checked already); one event."""
        self.refuse_content_change()
        self._supplements_added(lines=lines, expire_at=self.content_change_expiry(now, default_expire_at),
                                context=context)

    def replace_lines(self, replaced: list[dict[str, list[str]]], additions: list[LineAddition],
                      fees: list[Fee], now: datetime, default_expire_at: datetime,
                      context: Context) -> None:
        """Replace active lines with new ones (already checked, with their fees); one event."""
        self.refuse_content_change()
        self._lines_replaced(
            replacements=replaced, lines=[a.line for a in additions],
            travellers=[t for a in additions for t in a.travellers],
            reservations=[r for a in additions for r in a.reservations], fees=fees,
            expire_at=self.content_change_expiry(now, default_expire_at), context=context)

    def add_fee(self, fee: Fee, order_version: int | None, now: datetime, default_expire_at: datetime,
                context: Context) -> None:
        """A fee the client adds (checked types already); on a confirmed order it opens N+1."""
        self.refuse_content_change()
        self.check_version(order_version)
        self.check_active_lines(fee.order_line_ids, "orderLineIds")
        if fee.price.currency != self.currency:
            raise InvalidRequest(f"the order is in {self.currency}", "price.currency")
        self.refuse_negative_total(self.total_amount + fee.signed_price.amount, "price.amount")
        self._fee_added(fee=replace(fee, by_client=True),
                        expire_at=self.content_change_expiry(now, default_expire_at), context=context)

    def remove_fee(self, fee_id: str, now: datetime, default_expire_at: datetime, context: Context) -> None:
        """Remove a fee the client added since the last confirmation."""
        self.refuse_content_change()
        fee = next((fee for fee in self.fees if fee.id == fee_id), None)
        if fee is None:
            raise FeeNotFound(fee_id)
        if any(kept.id == fee_id for kept in self.last_confirmed_state["fees"]):
            raise FeeConfirmed(f"Fee {fee_id} is part of confirmed version "
                               f"{self.last_confirmed_state['order_version']}")
        if not fee.by_client:
            raise ChangeNotAllowed(f"Fee {fee_id} ({fee.type}) was added by the service: reset the order "
                                   "to scrap the change that added it")
        self.refuse_negative_total(self.total_amount - fee.signed_price.amount, "feeId")
        self._fee_removed(fee_id=fee_id, expire_at=self.content_change_expiry(now, default_expire_at),
                          context=context)

    def cancel_lines(self, order_line_ids: list[str], reason: str, fee_ids: list[str], now: datetime,
                     default_expire_at: datetime, context: Context) -> None:
        """Remove travellers without a refund: the lines become CANCELLED, and each that had been
        confirmed leaves a MANUAL fee of its confirmed price, so no money is returned.
        ``fee_ids`` holds a fresh id per line."""
        self.refuse_content_change()
        lines = self.check_active_lines(order_line_ids, "orderLineIds")
        ids = iter(fee_ids)
        fees = [Fee(next(ids), MANUAL, confirmed.price, reason, (line.id,))
                for line in lines if (confirmed := self.confirmed_line(line.id)) is not None]
        self._refuse_total_without(lines, fees)
        self._lines_cancelled(order_line_ids=[line.id for line in lines], reason=reason, fees=fees,
                              expire_at=self.content_change_expiry(now, default_expire_at), context=context)

    def refund_lines(self, order_line_ids: list[str], fees: list[Fee], refund_option_ids: list[str],
                     now: datetime, default_expire_at: datetime, context: Context) -> None:
        """The refunded lines become CANCELLED with their ``REFUNDING`` fees, opening N+1; the
        application registers the credit that confirms it in the same save."""
        self.refuse_content_change()
        lines = self.check_active_lines(order_line_ids, "refundOptionIds")
        self._refuse_total_without(lines, fees)
        self._lines_refunded(order_line_ids=[line.id for line in lines], fees=fees,
                             refund_option_ids=refund_option_ids,
                             expire_at=self.content_change_expiry(now, default_expire_at), context=context)

    def _refuse_total_without(self, lines: list[OrderLine], fees: list[Fee]) -> None:
        removed = total(line.price.amount for line in lines)
        added = total(fee.signed_price.amount for fee in fees)
        self.refuse_negative_total(self.total_amount - removed + added, "orderLineIds")

    def lock_for_payment(self, payment_id: str, now: datetime, context: Context) -> None:
        self.refuse_if_locked()
        self._locked(payment_id=payment_id, at=now, context=context)

    def unlock(self, reason: str, now: datetime, context: Context) -> str | None:
        """Lift the lock; returns the id of the payment that held it (None: was not locked)."""
        if self.lock is None:
            return None
        payment_id = self.lock.payment_id
        self._unlocked(payment_id=payment_id, reason=reason, at=now, context=context)
        return payment_id

    # ----------------------------------------------------------------- state transitions

    def _mark_confirmed(self, at: datetime) -> None:
        self.status = CONFIRMED
        self.last_confirmed_at = at
        self.has_unconfirmed_changes = False
        self.lines = [line.with_status(CONFIRMED) if line.status == DRAFT else line for line in self.lines]
        # During apply() ``self.version`` is still the previous event's version.
        self.confirmed_versions[str(self.order_version)] = self.version + 1
        released = {r.id for r in self.reservations_of_inactive_lines()}
        self.reservations = [r for r in self.reservations if r.id not in released]
        self.last_confirmed_state = self._version_state()

    @event("OrderUpdated")
    def _updated(self, changes: dict[str, Any], context: Context) -> None:
        for name, value in changes.items():
            setattr(self, name, value)
        if "expire_at" in changes:
            self.expire_at_set_by_client = True

    @event("OrderConfirmed")
    def _confirmed(self, at: datetime, context: Context) -> None:
        self._mark_confirmed(at)

    @event("OrderFailed")
    def _failed(self, order_line_ids: list[str], at: datetime, context: Context) -> None:
        self.lines = [replace(line, external_confirmation="FAILED") if line.id in order_line_ids else line
                      for line in self.lines]
        self.failed = True
        self._mark_confirmed(at)

    @event("OrderReset")
    def _reset(self, at: datetime, reverted: dict[str, Any], context: Context) -> None:
        self._restore_last_confirmed()

    @event("OrderExpired")
    def _expired(self, at: datetime, reverted: dict[str, Any], context: Context) -> None:
        self._restore_last_confirmed()

    @event(OrderLineAdded)
    def _line_added(self, line: OrderLine, travellers: list[Traveller],
                    reservations: list[SeatReservation], expire_at: datetime,
                    context: Context) -> None:
        self.begin_content_change(expire_at)
        self.lines.append(replace(line, version=self.order_version))
        known = {t.id for t in self.travellers}
        self.travellers.extend(t for t in travellers if t.id not in known)
        self.reservations.extend(reservations)

    @event(PaymentCaptured)
    def _payment_captured(self, payment_ref: PaymentRef, at: datetime, context: Context) -> None:
        self.payment_refs.append(payment_ref)
        self.has_unconfirmed_changes = True
        self.lock = None

    @event("OrderLinesConfirmed")
    def _lines_confirmed(self, order_line_ids: list[str], at: datetime, context: Context) -> None:
        self.lines = [replace(line, external_confirmation="SUCCESS") if line.id in order_line_ids
                      else line for line in self.lines]

    @event("OrderLinesReplaced")
    def _lines_replaced(self, replacements: list[dict[str, list[str]]], lines: list[OrderLine],
                        travellers: list[Traveller], reservations: list[SeatReservation],
                        fees: list[Fee], expire_at: datetime, context: Context) -> None:
        self.begin_content_change(expire_at)
        by = {old: tuple(r["replacedByOrderLineIds"])
              for r in replacements for old in r["originalOrderLineIds"]}
        self.lines = [replace(line, status=REPLACED, replaced_by_order_line_ids=by[line.id])
                      if line.id in by else line for line in self.lines]
        self.lines.extend(replace(line, version=self.order_version) for line in lines)
        known = {t.id for t in self.travellers}
        self.travellers.extend(t for t in travellers if t.id not in known)
        self.reservations.extend(reservations)
        self.fees.extend(replace(fee, version=self.order_version) for fee in fees)

    @event("SupplementProductsAdded")
    def _supplements_added(self, lines: list[OrderLine], expire_at: datetime, context: Context) -> None:
        self.begin_content_change(expire_at)
        changed = {line.id: replace(line, version=self.order_version) for line in lines}
        self.lines = [changed.get(line.id, line) for line in self.lines]

    @event("FeeAdded")
    def _fee_added(self, fee: Fee, expire_at: datetime, context: Context) -> None:
        self.begin_content_change(expire_at)
        self.fees.append(replace(fee, version=self.order_version))

    @event("FeeRemoved")
    def _fee_removed(self, fee_id: str, expire_at: datetime, context: Context) -> None:
        self.begin_content_change(expire_at)
        self.fees = [fee for fee in self.fees if fee.id != fee_id]

    @event("OrderLinesCancelled")
    def _lines_cancelled(self, order_line_ids: list[str], reason: str, fees: list[Fee],
                         expire_at: datetime, context: Context) -> None:
        self._cancel(order_line_ids, fees, expire_at)

    @event("OrderLinesRefunded")
    def _lines_refunded(self, order_line_ids: list[str], fees: list[Fee], refund_option_ids: list[str],
                        expire_at: datetime, context: Context) -> None:
        self._cancel(order_line_ids, fees, expire_at)

    def _cancel(self, order_line_ids: list[str], fees: list[Fee], expire_at: datetime) -> None:
        self.begin_content_change(expire_at)
        self.lines = [replace(line, status=CANCELLED) if line.id in order_line_ids else line
                      for line in self.lines]
        self.fees.extend(replace(fee, version=self.order_version) for fee in fees)

    @event("PaymentCredited")
    def _payment_credited(self, payment_ref: PaymentRef, reason: str, at: datetime, context: Context) -> None:
        self.payment_refs.append(payment_ref)
        self.has_unconfirmed_changes = True

    @event("OrderLocked")
    def _locked(self, payment_id: str, at: datetime, context: Context) -> None:
        self.lock = Lock(payment_id, at)

    @event("OrderUnlocked")
    def _unlocked(self, payment_id: str, reason: str, at: datetime, context: Context) -> None:
        self.lock = None
