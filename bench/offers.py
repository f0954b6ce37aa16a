"""Offers the benchmark sells and seeds with, in the wire format of ``POST /v1/offers``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ordering.domain.offer import Offer
from ordering.http.sales_schemas import OfferSchema

ADULT = "NSB:UserProfile:Adult"
TRAVELLERS = [f"b3c4d5e6-0000-4b7e-8c1d-00000000000{n}" for n in range(1, 4)]
STOPS = ["NSR:StopPlace:337", "NSR:StopPlace:548", "NSR:StopPlace:659", "NSR:StopPlace:420",
         "NSR:StopPlace:11", "NSR:StopPlace:59872", "NSR:StopPlace:41742", "NSR:StopPlace:58366"]
BENCH_SEATS = 10_000_000


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def journey_id(train: int, day: datetime) -> str:
    return f"BENCH:DatedServiceJourney:{train}-{day:%Y%m%d}"


def wire_offer(journey: str, train: int, start: datetime, price: str, compulsory: bool,
               valid_until: datetime) -> dict[str, Any]:
    """One offer with one leg; ``compulsory`` makes each line hold a seat on the journey."""
    origin, destination = STOPS[train % len(STOPS)], STOPS[(train + 3) % len(STOPS)]
    amount = float(price)
    leg = {"serviceJourneyId": journey.replace("DatedServiceJourney", "ServiceJourney"),
           "datedServiceJourneyId": journey, "originalDatedServiceJourneyId": journey,
           "fromStopPlaceId": origin, "toStopPlaceId": destination, "startTime": stamp(start),
           "endTime": stamp(start + timedelta(hours=2 + train % 5)),
           "reservingRequirement": "RESERVATIONS_COMPULSORY" if compulsory else "RESERVATIONS_POSSIBLE"}
    return {
        "id": str(uuid.uuid4()), "name": f"Bench {journey}", "validUntil": stamp(valid_until),
        "salesPackageRef": {"id": "NSB:SalesPackage:Ordinary", "version": "NSB:Version:V1"},
        "fareProducts": [{"id": "NSB:PreassignedFareProduct:Ordinary", "version": "NSB:Version:V1",
                          "selectableId": "nhC7Jr"}],
        "groupProduct": False, "pricingBasis": "PER_PERSON",
        "price": {"amount": price, "currency": "NOK", "taxAmount": f"{amount * 0.107:.2f}"},
        "travellerMapping": [{"travellerIds": TRAVELLERS, "minNumberOfTravellers": 1,
                              "maxNumberOfTravellers": len(TRAVELLERS), "userProfileId": ADULT}],
        "legs": [leg], "refundable": True, "externalConfirmationRequired": False,
        "supplementProducts": [],
    }


def loaded(wire: dict[str, Any]) -> dict[str, Any]:
    """The offer as the service stores it (Decimal money, UTC datetimes)."""
    data: dict[str, Any] = OfferSchema().load(wire)
    return data


def sale_offer(tag: str, now: datetime) -> dict[str, Any]:
    """The offer the HTTP scenarios sell: 899.00 NOK, a compulsory seat on its own departure."""
    journey = f"BENCH:DatedServiceJourney:sale-{tag}"
    return wire_offer(journey, 0, now + timedelta(days=7), "899.00", True, now + timedelta(days=6))


class OfferPool:
    """In-memory offers for seeding: ``trains`` departures a day, built on first use."""

    def __init__(self, trains: int, valid_until: datetime) -> None:
        self.trains = trains
        self.valid_until = valid_until
        self._offers: dict[str, Offer] = {}

    def offer(self, train: int, day: datetime, compulsory: bool) -> Offer:
        journey = journey_id(train, day)
        found = self._offers.get(journey)
        if found is None:
            start = day.replace(hour=5 + train % 17, minute=(train * 7) % 60, second=0, microsecond=0)
            price = f"{199 + (train * 37) % 900}.00"
            found = Offer(loaded(wire_offer(journey, train, start, price, compulsory, self.valid_until)))
            self._offers[journey] = found
        return found
