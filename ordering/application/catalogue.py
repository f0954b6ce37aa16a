"""The offer catalogue and the seats of each departure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ordering.application.base import CommandRunner, Saved
from ordering.domain.inventory import Availability, Departure, DepartureNotFound, SeatHold
from ordering.domain.offer import Catalogue, Offer, OfferExists


class CatalogueCommands(CommandRunner):
    """Catalogue and capacity commands."""

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

    def set_capacity(self, dated_service_journey_id: str, seats: int) -> Availability:
        """Never below the seats already held (``CAPACITY_BELOW_RESERVED``): those stay reserved."""
        self._counted([dated_service_journey_id])

        def unit() -> tuple[None, Sequence[Saved]]:
            departure = self._departure(dated_service_journey_id)
            if departure is None:
                departure = Departure(dated_service_journey_id, seats)
            return None, [departure, departure.set_capacity(seats)]

        self._retrying(unit, dated_service_journey_id)
        self._counted_journeys.add(dated_service_journey_id)
        return self.availability(dated_service_journey_id)

    def availability(self, dated_service_journey_id: str) -> Availability:
        self._counted([dated_service_journey_id])
        found = self.seats.availability(dated_service_journey_id)
        if found is None:
            raise DepartureNotFound(dated_service_journey_id)
        return found

    def seat_holds(self, dated_service_journey_id: str) -> dict[str, SeatHold]:
        """Every seat held on a departure, by reservation id, with its order."""
        self._counted([dated_service_journey_id])
        return self.seats.holds_on(dated_service_journey_id)
