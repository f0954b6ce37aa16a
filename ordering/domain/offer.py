"""The offer catalogue: a local stand-in for Entur's Offers API, event-sourced like the rest."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ordering.domain.errors import Conflict
from ordering.domain.values import Conditions

CATALOGUE_ID = uuid5(UUID("0d9b2a4c-8c3e-4f57-b3c2-5a4d2f1e9c70"), "catalogue")
RESERVATIONS_COMPULSORY = "RESERVATIONS_COMPULSORY"  # the one requirement that holds seats here
RESERVING_REQUIREMENTS = (  # Entur's vocabulary
    RESERVATIONS_COMPULSORY, "RESERVATIONS_COMPULSORY_FOR_GROUPS",
    "RESERVATIONS_COMPULSORY_FOR_FIRST_CLASS", "RESERVATIONS_COMPULSORY_FROM_ORIGIN_STATION",
    "RESERVATIONS_RECOMMENDED", "RESERVATIONS_POSSIBLE", "RESERVATIONS_POSSIBLE_ONLY_IN_FIRST_CLASS",
    "RESERVATIONS_POSSIBLE_ONLY_FOR_GROUPS", "RESERVATIONS_POSSIBLE_FOR_CERTAIN_CLASSES",
    "NO_RESERVATIONS_POSSIBLE", "BICYCLE_RESERVATIONS_COMPULSORY", "GROUP_BOOKING_RESTRICTED",
    "NO_GROUPS_ALLOWED",
)


class OfferExists(Conflict):
    code = "OFFER_EXISTS"
    title = "Offer exists already"


class Offer(Aggregate):
    """One offer as the contract shapes it (camelCase keys, Decimal money, UTC datetimes)."""

    @staticmethod
    def create_id(data: dict[str, Any], **_: Any) -> UUID:
        return UUID(data["id"])

    @event("OfferPublished")
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = deepcopy(data)

    @property
    def offer_id(self) -> str:
        return str(self.data["id"])

    def is_valid_at(self, now: datetime) -> bool:
        valid_until: datetime = self.data["validUntil"]
        return now < valid_until

    @property
    def is_group_product(self) -> bool:
        return bool(self.data.get("groupProduct"))

    @property
    def traveller_mapping(self) -> list[dict[str, Any]]:
        mapping: list[dict[str, Any]] = self.data["travellerMapping"]
        return mapping

    def traveller_profile(self, traveller_id: str) -> str | None:
        for entry in self.traveller_mapping:
            if traveller_id in entry["travellerIds"]:
                return entry.get("userProfileId")
        return None

    @property
    def seated_journeys(self) -> tuple[str, ...]:
        """The dated service journeys on which a line of this offer holds seats."""
        return tuple(leg["datedServiceJourneyId"] for leg in self.data.get("legs", [])
                     if leg.get("reservingRequirement") == RESERVATIONS_COMPULSORY)

    @property
    def conditions(self) -> Conditions:
        """What a line reserved from this offer may later undergo (changes, refunds)."""
        return Conditions.from_wire(self.data)

    def supplement(self, selectable_id: str) -> dict[str, Any] | None:
        for supplement in self.data.get("supplementProducts", []):
            if supplement["selectableId"] == selectable_id:
                return dict(supplement)
        return None


class Catalogue(Aggregate):
    """Which offers exist, in the order they were published (for listing)."""

    @staticmethod
    def create_id(**_: Any) -> UUID:
        return CATALOGUE_ID

    @event("CatalogueOpened")
    def __init__(self) -> None:
        self.offer_ids: list[str] = []

    def list_offers(self, offer_ids: list[str]) -> None:
        new = [offer_id for offer_id in offer_ids if offer_id not in set(self.offer_ids)]
        if new:
            self._offers_listed(offer_ids=new)

    @event("OffersListed")
    def _offers_listed(self, offer_ids: list[str]) -> None:
        self.offer_ids.extend(offer_ids)
