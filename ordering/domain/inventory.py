"""Seats per dated service journey.

A ``Departure`` aggregate records a journey's capacity. The seats held on it are written in the
events' own transaction, as ``SeatChanges`` applied to a guarded counter (``ordering.seats``):
a hold that would take the journey past its capacity fails the whole save, so concurrent sales on
one departure never conflict on one aggregate's version and can never oversell. Each hold names
its order and line; the orders' own events (lines added, confirmed, cancelled, reset, expired)
say when it is given back. Departures written by earlier releases recorded holds as
``SeatsHeld``/``SeatsReleased`` events; they still load, and their holds are adopted by the
counter the first time the journey is used (``legacy_holds``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import Conflict, NotFound
from ordering.domain.values import SeatReservation

DEPARTURE_NAMESPACE = UUID("5c1f6a3e-7d2b-4e0a-9f1c-2b8e4d6a1c33")


class NoAvailability(Conflict):
    code = "NO_AVAILABILITY"
    title = "Not enough seats"


class CapacityBelowReserved(Conflict):
    code = "CAPACITY_BELOW_RESERVED"
    title = "Capacity below the seats reserved"


class DepartureNotFound(NotFound):
    def __init__(self, dated_service_journey_id: str) -> None:
        super().__init__(f"Departure {dated_service_journey_id} has no capacity set")


def departure_uuid(dated_service_journey_id: str) -> UUID:
    return uuid5(DEPARTURE_NAMESPACE, dated_service_journey_id)


@dataclass(frozen=True)
class SeatHold:
    """Seats one order line holds on one departure, as the counter keeps them."""

    reservation_id: str
    dated_service_journey_id: str
    order_code: str
    seats: int


@dataclass(frozen=True)
class SeatChanges:
    """What one save does to the seats: holds taken, holds given back (by reservation id, only
    those still held count), capacities set. Applied in the events' own transaction."""

    held: tuple[SeatHold, ...] = ()
    released: tuple[str, ...] = ()
    capacities: tuple[tuple[str, int], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.held or self.released or self.capacities)

    def __add__(self, other: SeatChanges) -> SeatChanges:
        return SeatChanges(self.held + other.held, self.released + other.released,
                           self.capacities + other.capacities)

    @classmethod
    def holding(cls, order_code: str, reservations: Iterable[SeatReservation]) -> SeatChanges:
        return cls(held=tuple(SeatHold(r.id, r.dated_service_journey_id, order_code, r.seats)
                              for r in reservations))

    @classmethod
    def releasing(cls, reservations: Iterable[SeatReservation]) -> SeatChanges:
        return cls(released=tuple(r.id for r in reservations))


@dataclass(frozen=True)
class Availability:
    capacity: int
    reserved: int

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.reserved)

    def to_wire(self) -> dict[str, int]:
        return {"capacity": self.capacity, "reserved": self.reserved, "available": self.available}


class Departure(Aggregate):
    """The capacity of one dated service journey (and the holds earlier releases recorded)."""

    @staticmethod
    def create_id(dated_service_journey_id: str, **_: Any) -> UUID:
        return departure_uuid(dated_service_journey_id)

    @event("DepartureOpened")
    def __init__(self, dated_service_journey_id: str, seats: int) -> None:
        self.dated_service_journey_id = dated_service_journey_id
        self.capacity = seats
        self.holds: dict[str, dict[str, Any]] = {}

    def set_capacity(self, seats: int) -> SeatChanges:
        """The counter refuses a capacity below the seats already held (those stay reserved)."""
        if seats != self.capacity:
            self._capacity_set(seats=seats)
        return SeatChanges(capacities=((self.dated_service_journey_id, seats),))

    def legacy_holds(self) -> list[SeatHold]:
        """The holds an earlier release recorded on this aggregate, for the counter to adopt."""
        return [SeatHold(rid, self.dated_service_journey_id, hold.get("orderId", ""), int(hold["seats"]))
                for rid, hold in self.holds.items()]

    @event("CapacitySet")
    def _capacity_set(self, seats: int) -> None:
        self.capacity = seats

    @event("SeatsHeld")
    def _seats_held(self, holds: list[dict[str, Any]]) -> None:
        for hold in holds:
            self.holds[hold["id"]] = dict(hold)

    @event("SeatsReleased")
    def _seats_released(self, reservation_ids: list[str], reason: str) -> None:
        for reservation_id in reservation_ids:
            self.holds.pop(reservation_id, None)
