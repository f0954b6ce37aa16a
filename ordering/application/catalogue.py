"""The offer catalogue and the seats of each departure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ordering.application.base import CommandRunner
from ordering.domain.inventory import Departure, DepartureNotFound
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
            raise DepartureNotFound(dated_service_journey_id)
        return departure.availability()
