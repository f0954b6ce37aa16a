"""Seats per dated service journey: every seat held or released is an event naming its order."""

from __future__ import annotations

from collections.abc import Iterable
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


def by_journey(reservations: Iterable[SeatReservation]) -> dict[str, list[SeatReservation]]:
    """Seat reservations grouped by the dated service journey (departure) they are on."""
    grouped: dict[str, list[SeatReservation]] = {}
    for reservation in reservations:
        grouped.setdefault(reservation.dated_service_journey_id, []).append(reservation)
    return grouped


def departure_uuid(dated_service_journey_id: str) -> UUID:
    return uuid5(DEPARTURE_NAMESPACE, dated_service_journey_id)


class Departure(Aggregate):
    """Capacity and the seats held on one dated service journey."""

    @staticmethod
    def create_id(dated_service_journey_id: str, **_: Any) -> UUID:
        return departure_uuid(dated_service_journey_id)

    @event("DepartureOpened")
    def __init__(self, dated_service_journey_id: str, seats: int) -> None:
        self.dated_service_journey_id = dated_service_journey_id
        self.capacity = seats
        self.holds: dict[str, dict[str, Any]] = {}

    @property
    def reserved(self) -> int:
        return sum(hold["seats"] for hold in self.holds.values())

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.reserved)

    def availability(self) -> dict[str, int]:
        return {"capacity": self.capacity, "reserved": self.reserved, "available": self.available}

    def set_capacity(self, seats: int) -> None:
        """Never below the seats already held: those stay reserved."""
        if seats < self.reserved:
            raise CapacityBelowReserved(
                f"{self.dated_service_journey_id} has {self.reserved} seats reserved; "
                f"its capacity may not be set to {seats}", "seats")
        if seats != self.capacity:
            self._capacity_set(seats=seats)

    def hold(self, order_code: str, reservations: list[SeatReservation]) -> None:
        """Hold the seats of an order's reservations; all or nothing. The ``SeatsHeld`` event
        names each hold's order and line (stored as plain data, as it always was)."""
        wanted = sum(r.seats for r in reservations)
        if wanted > self.available:
            raise NoAvailability(
                f"{self.dated_service_journey_id} has {self.available} seats left, {wanted} asked"
            )
        self._seats_held(holds=[r.to_wire() | {"orderId": order_code} for r in reservations])

    def release(self, reservation_ids: list[str], reason: str) -> None:
        held = [rid for rid in reservation_ids if rid in self.holds]
        if held:
            self._seats_released(reservation_ids=held, reason=reason)

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
