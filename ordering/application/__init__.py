"""The application service: each command loads, acts on the aggregates and saves them atomically.

A command is a *unit*: a function that loads fresh state, acts, and returns the aggregates to
save. ``_retrying`` saves them in one transaction; on a version conflict it runs the unit again
on fresh state a bounded number of times, then gives up with ``CONCURRENT_MODIFICATION``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, CanMutateAggregate, DomainEventProtocol
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    OperationalError,
    PersistenceError,
    Recording,
)

from ordering.application import topics  # noqa: F401  (old topics resolve before any load)
from ordering.application.context import CommandContext, system_context
from ordering.application.transcodings import register_value_transcodings
from ordering.domain.errors import ConcurrentModification, InvalidRequest, OrderNotFound, VersionNotFound
from ordering.domain.inventory import Departure, NoAvailability, by_journey, departure_uuid
from ordering.domain.offer import Catalogue, Offer, OfferExists
from ordering.domain.order import LineAddition, Order, is_order_code, new_order_code, order_uuid
from ordering.domain.payment import Payment, PaymentNotFound, check_payment_fits
from ordering.domain.policy import MAX_EXPIRE_AHEAD, OrderPolicy, utcnow
from ordering.domain.reserving import OfferConfiguration, OfferNotFound, check_currency, plan_lines
from ordering.domain.values import SeatReservation

Clock = Callable[[], datetime]
T = TypeVar("T")
Unit = Callable[[], tuple[T, Sequence[Aggregate]]]
RETRY_BACKOFF_SECONDS = 0.005
EXPIRY_ACTOR = "order-expiry-scheduler"


@dataclass(frozen=True)
class TrailEntry:
    """One event of an order's audit trail, with the order's business version after it."""

    sequence: int
    event: DomainEventProtocol[UUID]
    order_version: int


@dataclass(frozen=True)
class SaveMarker:
    """What identifies one save attempt in the store: its first event's position, its
    timestamp (taken when the event was made) and the command id the event carries."""

    aggregate_id: UUID
    version: int
    timestamp: datetime
    command_id: str | None

    @classmethod
    def of(cls, aggregates: Sequence[Aggregate]) -> SaveMarker | None:
        for aggregate in aggregates:
            if aggregate.pending_events:
                first: Any = aggregate.pending_events[0]
                context = getattr(first, "context", None) or {}
                return cls(first.originator_id, first.originator_version, first.timestamp,
                           context.get("commandId"))
        return None

    def matches(self, stored: Any) -> bool:
        context = getattr(stored, "context", None) or {}
        return bool(stored.timestamp == self.timestamp and context.get("commandId") == self.command_id)


@dataclass(frozen=True)
class Reservation:
    order: Order
    additions: list[LineAddition]


class OrderingApplication(Application[UUID]):
    name = "orders"
    snapshotting_intervals = {Order: 100, Departure: 100}

    def __init__(self, env: dict[str, str] | None = None, policy: OrderPolicy | None = None,
                 clock: Clock = utcnow) -> None:
        super().__init__(env)
        self.policy = policy or OrderPolicy()
        self.clock = clock
        self.after_save: list[Callable[[Sequence[Any]], None]] = []

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_value_transcodings(transcoder)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """After every committed save, the listeners (the read model) see what was saved."""
        recordings = super().save(*objs, **kwargs)
        self._tell_listeners(objs)
        return recordings

    def _tell_listeners(self, saved: Sequence[Any]) -> None:
        for listener in self.after_save:
            listener(saved)

    # ----------------------------------------------------------------- orders

    def create_order(self, ctx: CommandContext, currency: str | None = None,
                     expire_at: datetime | None = None, contact_info: dict[str, Any] | None = None,
                     external_reference: str | None = None) -> Order:
        def unit() -> tuple[Order, Sequence[Aggregate]]:
            order = self._new_order(ctx, self.clock(), currency, expire_at, contact_info,
                                    external_reference)
            return order, [order]

        return self._retrying(unit, "new order")

    def update_order(self, order_id: str, ctx: CommandContext, changes: dict[str, Any]) -> Order:
        if changes.get("expire_at") is not None:
            self._check_expire_at(changes["expire_at"], self.clock())
        elif "expire_at" in changes:
            raise InvalidRequest("expireAt may not be null", "expireAt")
        return self._change(order_id, ctx, lambda order: order.update(changes, ctx.as_event_data()))

    def confirm_order(self, order_id: str, ctx: CommandContext) -> Order:
        return self._change(order_id, ctx, lambda o: o.confirm(self.clock(), ctx.as_event_data()))

    def fail_order(self, order_id: str, ctx: CommandContext, line_ids: list[str] | None) -> Order:
        return self._change(order_id, ctx, lambda o: o.fail(line_ids, self.clock(), ctx.as_event_data()))

    def reset_order(self, order_id: str, ctx: CommandContext) -> Order:
        """Scrap unconfirmed changes now and give back the seats they held."""
        def reset(order: Order) -> list[Aggregate]:
            scrapped = order.unconfirmed_reservations()
            if not order.reset(self.clock(), ctx.as_event_data()):
                return []
            return self._release_seats(scrapped, "ORDER_RESET")

        return self._change(order_id, ctx, reset)

    def unlock_order(self, order_id: str, ctx: CommandContext) -> Order:
        """Lift the lock and cancel the payment that held it. Idempotent."""
        def unlock(order: Order) -> list[Aggregate]:
            payment_id = order.unlock("UNLOCKED", self.clock(), ctx.as_event_data())
            return self._cancelled_payment(payment_id, "ORDER_UNLOCKED", ctx)

        return self._change(order_id, ctx, unlock)

    def expire_order(self, order_id: str, now: datetime, correlation_id: str | None = None) -> bool:
        """Idempotent: emits ``OrderExpired`` only when the order is due at ``now``; a payment
        whose lock timed out is cancelled first. The service itself is the actor."""
        return self._retrying(lambda: self._expire(order_id, now, correlation_id, {}), order_id)

    def expire_orders(self, order_ids: list[str], now: datetime, correlation_id: str | None = None) -> int:
        """Several orders in one transaction (the sweep's fast path); on a conflict, one by one."""
        departures: dict[str, Departure] = {}
        changed: dict[UUID, Aggregate] = {}
        expired = 0
        for order_id in order_ids:
            done, aggregates = self._expire(order_id, now, correlation_id, departures)
            expired += done
            changed.update((aggregate.id, aggregate) for aggregate in aggregates)
        if not changed:
            return 0
        try:
            self.save(*changed.values())
        except IntegrityError:
            return sum(self.expire_order(order_id, now, correlation_id) for order_id in order_ids)
        return expired

    def _expire(self, order_id: str, now: datetime, correlation_id: str | None,
                departures: dict[str, Departure]) -> tuple[bool, list[Aggregate]]:
        order = self._load(order_id, None)
        ctx = system_context(correlation_id or str(uuid4()), order.organisation_id, EXPIRY_ACTOR)
        payment_id = order.lock.payment_id if order.lock else None
        scrapped = order.unconfirmed_reservations()
        if not order.expire(now, now - self.policy.lock_timeout, ctx.as_event_data()):
            return False, []
        payment = self._cancelled_payment(payment_id, "LOCK_TIMED_OUT", ctx)
        return True, [order, *self._release_seats(scrapped, "ORDER_EXPIRED", departures), *payment]

    def get_order(self, order_id: str, organisation_id: int | None, version: int | None = None) -> Order:
        order = self._load(order_id, organisation_id)
        if version is None or version == order.order_version:
            return order
        event_version = order.event_version_of_confirmed(version)
        if event_version is None:
            raise VersionNotFound(order_id, version)
        return self._get(Order, order_uuid(order_id), order_id, OrderNotFound, event_version)

    def order_trail(self, order_id: str, organisation_id: int | None) -> list[TrailEntry]:
        order = self._load(order_id, organisation_id)
        entries: list[TrailEntry] = []
        replayed: Any = None
        for sequence, domain_event in enumerate(self.events.get(order.id), start=1):
            replayed = cast(CanMutateAggregate[UUID], domain_event).mutate(replayed)
            entries.append(TrailEntry(sequence, domain_event, replayed.order_version))
        return entries

    # ----------------------------------------------------------------- reserving offers

    def reserve_offers(self, ctx: CommandContext, order_id: str | None,
                       configurations: list[OfferConfiguration]) -> Reservation:
        """Add order lines for offers and hold their seats, all in one transaction or nothing."""
        offers = {c.offer_id: self.get_offer(c.offer_id) for c in configurations}

        def unit() -> tuple[Reservation, Sequence[Aggregate]]:
            now = self.clock()
            order = (self._load(order_id, ctx.organisation_id) if order_id is not None
                     else self._new_order(ctx, now))
            additions = [addition for position, c in enumerate(configurations)
                         for addition in plan_lines(offers[c.offer_id], c, now, position)]
            check_currency(order.currency, offers.values())
            departures = self._hold_seats(order.code, additions)
            order.add_lines(additions, now, now + self.policy.draft_ttl, ctx.as_event_data())
            return Reservation(order, additions), [order, *departures]

        return self._retrying(unit, "new order" if order_id is None else order_id)

    def _hold_seats(self, order_code: str, additions: list[LineAddition]) -> list[Aggregate]:
        departures: list[Aggregate] = []
        for journey_id, reservations in by_journey(r for a in additions for r in a.reservations).items():
            departure = self._departure(journey_id)
            if departure is None:
                raise NoAvailability(f"{journey_id} has no seats to reserve")
            departure.hold(order_code, reservations)
            departures.append(departure)
        return departures

    def _release_seats(self, reservations: list[SeatReservation], reason: str,
                       loaded: dict[str, Departure] | None = None) -> list[Aggregate]:
        """Give seats back; ``loaded`` shares departures between orders saved together."""
        loaded = {} if loaded is None else loaded
        departures: list[Aggregate] = []
        for journey_id, held in by_journey(reservations).items():
            departure = loaded.get(journey_id) or self._departure(journey_id)
            if departure is not None:
                loaded[journey_id] = departure
                departure.release([reservation.id for reservation in held], reason)
                departures.append(departure)
        return departures

    # ----------------------------------------------------------------- catalogue and seats

    def publish_offers(self, offers: list[dict[str, Any]]) -> list[Offer]:
        """Add offers to the catalogue; an id that exists already is refused (409)."""
        def unit() -> tuple[list[Offer], Sequence[Aggregate]]:
            catalogue = self._catalogue() or Catalogue()
            published = [Offer(data) for data in offers]
            catalogue.list_offers([o.offer_id for o in published])
            return published, [catalogue, *published]

        for data in offers:
            if self._find(Offer, UUID(data["id"])) is not None:
                raise OfferExists(f"Offer {data['id']} exists already", "id")
        return self._retrying(unit, "catalogue")

    def list_offers(self) -> list[Offer]:
        catalogue = self._catalogue()
        return [self.get_offer(offer_id) for offer_id in (catalogue.offer_ids if catalogue else [])]

    def get_offer(self, offer_id: str) -> Offer:
        try:
            return self._get(Offer, UUID(offer_id), offer_id, OfferNotFound)
        except ValueError:
            raise OfferNotFound(offer_id) from None

    def set_capacity(self, dated_service_journey_id: str, seats: int) -> Departure:
        def unit() -> tuple[Departure, Sequence[Aggregate]]:
            departure = self._departure(dated_service_journey_id)
            if departure is None:
                departure = Departure(dated_service_journey_id, seats)
            departure.set_capacity(seats)
            return departure, [departure]

        return self._retrying(unit, dated_service_journey_id)

    def availability(self, dated_service_journey_id: str) -> dict[str, int]:
        departure = self._departure(dated_service_journey_id)
        if departure is None:
            return {"capacity": 0, "reserved": 0, "available": 0}
        return departure.availability()

    def _departure(self, dated_service_journey_id: str) -> Departure | None:
        return self._find(Departure, departure_uuid(dated_service_journey_id))

    def _catalogue(self) -> Catalogue | None:
        return self._find(Catalogue, Catalogue.create_id())

    # ----------------------------------------------------------------- payments

    def create_payment(self, ctx: CommandContext, order_id: str, order_version: int, amount: Any,
                       payment_type: str, currency: str | None = None) -> Payment:
        """A payment of the whole balance of the order's current version; locks the order."""
        def unit() -> tuple[Payment, Sequence[Aggregate]]:
            order = self._load(order_id, ctx.organisation_id)
            check_payment_fits(order, order_version, amount, currency or order.currency)
            now = self.clock()
            payment = Payment(order.code, order_version, order.organisation_id, amount, order.currency,
                              payment_type, now, ctx.as_event_data())
            order.lock_for_payment(payment.payment_id, now, ctx.as_event_data())
            return payment, [order, payment]

        return self._retrying(unit, order_id)

    def capture_payment(self, payment_id: str, ctx: CommandContext) -> Payment:
        """Register the amount on the order and unlock it; at 0.00 the order confirms. Idempotent."""
        def unit() -> tuple[Payment, Sequence[Aggregate]]:
            payment = self.get_payment(payment_id, ctx.organisation_id)
            if not payment.capture(self.clock(), ctx.as_event_data()):
                return payment, []
            order = self._load(payment.order_id, None)
            order.register_capture(payment.as_order_ref(), self.clock(), ctx.as_event_data())
            return payment, [payment, order]

        return self._retrying(unit, payment_id)

    def cancel_payment(self, payment_id: str, ctx: CommandContext) -> Payment:
        """Cancel a pending payment and lift the order's lock. Idempotent."""
        def unit() -> tuple[Payment, Sequence[Aggregate]]:
            payment = self.get_payment(payment_id, ctx.organisation_id)
            if not payment.cancel(self.clock(), "CANCELLED", ctx.as_event_data()):
                return payment, []
            order = self._load(payment.order_id, None)
            if order.lock and order.lock.payment_id == payment.payment_id:
                order.unlock("PAYMENT_CANCELLED", self.clock(), ctx.as_event_data())
            return payment, [payment, order]

        return self._retrying(unit, payment_id)

    def get_payment(self, payment_id: str, organisation_id: int | None) -> Payment:
        try:
            payment = self._get(Payment, UUID(payment_id), payment_id, PaymentNotFound)
        except ValueError:
            raise PaymentNotFound(payment_id) from None
        if organisation_id is not None and payment.organisation_id != organisation_id:
            raise PaymentNotFound(payment_id)
        return payment

    def _cancelled_payment(self, payment_id: str | None, reason: str,
                           ctx: CommandContext) -> list[Aggregate]:
        if payment_id is None:
            return []
        payment = self.get_payment(payment_id, None)
        payment.cancel(self.clock(), reason, ctx.as_event_data())
        return [payment]

    # ----------------------------------------------------------------- plumbing

    def _retrying(self, unit: Unit[T], subject: str) -> T:
        unavailable: PersistenceError | None = None
        for attempt in range(self.policy.command_attempts):
            result, aggregates = unit()
            marker = SaveMarker.of(aggregates)
            if marker is None:
                return result  # nothing changed: no write, no read-model catch-up
            try:
                self.save(*aggregates)
            except IntegrityError:
                time.sleep(random.uniform(0, RETRY_BACKOFF_SECONDS * (attempt + 1)))
                continue
            except (OperationalError, InterfaceError) as error:
                if not self._saved_despite(marker):
                    unavailable = error  # known not stored (a stale connection): safe to rerun
                    continue
                self._tell_listeners(aggregates)
            return result
        raise unavailable or ConcurrentModification(subject)

    def _saved_despite(self, marker: SaveMarker) -> bool:
        """The connection failed during the save, perhaps after the commit was sent: were this
        attempt's events stored? Asked on another connection; if the store cannot answer
        either, that error propagates (503) and the command is not run again."""
        stored = self.recorder.select_events(marker.aggregate_id, gt=marker.version - 1,
                                             lte=marker.version)
        return bool(stored) and marker.matches(self.mapper.to_domain_event(stored[0]))

    def _change(self, order_id: str, ctx: CommandContext, change: Callable[[Order], Any]) -> Order:
        """Load the caller's order, act on it (``change`` may return other aggregates), save."""
        def unit() -> tuple[Order, Sequence[Aggregate]]:
            order = self._load(order_id, ctx.organisation_id)
            others = change(order)
            return order, [order, *(others if isinstance(others, list) else [])]

        return self._retrying(unit, order_id)

    def _new_order(self, ctx: CommandContext, now: datetime, currency: str | None = None,
                   expire_at: datetime | None = None, contact_info: dict[str, Any] | None = None,
                   external_reference: str | None = None) -> Order:
        if expire_at is not None:
            self._check_expire_at(expire_at, now)
        return Order(
            code=new_order_code(),  # a taken code fails the save; the retry draws another
            organisation_id=ctx.organisation_id, created_by=ctx.subject, pos=ctx.pos,
            distribution_channel_id=ctx.distribution_channel_id,
            currency=currency or self.policy.default_currency, created_at=now,
            expire_at=expire_at or now + self.policy.draft_ttl,
            expire_at_set_by_client=expire_at is not None, contact_info=contact_info,
            external_reference=external_reference, context=ctx.as_event_data(),
        )

    def _load(self, order_id: str, organisation_id: int | None) -> Order:
        if not is_order_code(order_id):
            raise OrderNotFound(order_id)
        order = self._get(Order, order_uuid(order_id), order_id, OrderNotFound)
        if organisation_id is not None and order.organisation_id != organisation_id:
            raise OrderNotFound(order_id)
        return order

    def _get(self, kind: type[T], aggregate_id: UUID, public_id: str,
             not_found: Callable[[str], Exception], version: int | None = None) -> T:
        try:
            found: Any = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise not_found(public_id) from None
        if not isinstance(found, kind):
            raise not_found(public_id)
        return found

    def _find(self, kind: type[T], aggregate_id: UUID) -> T | None:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def _check_expire_at(self, expire_at: datetime, now: datetime) -> None:
        if expire_at < now:
            raise InvalidRequest("expireAt may not be in the past", "expireAt")
        if expire_at > now + MAX_EXPIRE_AHEAD:
            raise InvalidRequest("expireAt may not be more than six months ahead", "expireAt")
