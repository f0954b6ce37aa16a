"""The demo catalogue a new service starts with: a few Norwegian departures, ready to reserve.

Departure times are set relative to the moment the catalogue is loaded, so it is always bookable.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BERGEN_OFFER = "b0a1e6f2-0001-4c1a-9e55-6f1d2c3b4a01"
TRONDHEIM_OFFER = "b0a1e6f2-0002-4c1a-9e55-6f1d2c3b4a02"
LILLEHAMMER_GROUP_OFFER = "b0a1e6f2-0003-4c1a-9e55-6f1d2c3b4a03"
DRAMMEN_OFFER = "b0a1e6f2-0004-4c1a-9e55-6f1d2c3b4a04"
BERGEN_MINIPRIS_OFFER = "b0a1e6f2-0005-4c1a-9e55-6f1d2c3b4a05"
BERGEN_PREMIUM_OFFER = "b0a1e6f2-0006-4c1a-9e55-6f1d2c3b4a06"
BERGEN_DEPARTURE = "NSB:DatedServiceJourney:601-bergen"
BERGEN_LATER_DEPARTURE = "NSB:DatedServiceJourney:603-bergen"
BERGEN_SEATS = 10
ADULT = "NSB:UserProfile:Adult"
TRAVELLERS = [f"7a1c0e52-0000-4b7e-8c1d-00000000000{n}" for n in range(1, 6)]


def _time(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _leg(journey: str, origin: str, destination: str, start: datetime, hours: float,
         requirement: str) -> dict[str, Any]:
    return {"serviceJourneyId": journey.replace("DatedServiceJourney", "ServiceJourney"),
            "datedServiceJourneyId": journey, "originalDatedServiceJourneyId": journey,
            "fromStopPlaceId": origin, "toStopPlaceId": destination, "startTime": _time(start),
            "endTime": _time(start + timedelta(hours=hours)), "reservingRequirement": requirement}


def _price(amount: str, tax: str) -> dict[str, str]:
    return {"amount": amount, "currency": "NOK", "taxAmount": tax}


def _offer(offer_id: str, name: str, valid_until: datetime, amount: str, tax: str,
           legs: list[dict[str, Any]], travellers: list[str], **extra: Any) -> dict[str, Any]:
    offer = {
        "id": offer_id, "name": name, "validUntil": _time(valid_until),
        "salesPackageRef": {"id": "NSB:SalesPackage:Ordinary", "version": "NSB:Version:V1"},
        "fareProducts": [{"id": "NSB:PreassignedFareProduct:Ordinary", "version": "NSB:Version:V1",
                          "selectableId": "nhC7Jr"}],
        "groupProduct": False, "pricingBasis": "PER_PERSON",
        "price": _price(amount, tax),
        "travellerMapping": [{"travellerIds": travellers, "minNumberOfTravellers": 1,
                              "maxNumberOfTravellers": len(travellers), "userProfileId": ADULT}],
        "legs": legs, "refundable": True, "externalConfirmationRequired": False,
        "supplementProducts": [], "changeable": True, "changeFee": None, "refundFee": None,
    }
    return offer | extra


def demo_offers(now: datetime) -> list[dict[str, Any]]:
    """Offers in the wire format of ``POST /v1/offers``."""
    day = (now + timedelta(days=7)).astimezone(UTC).replace(hour=7, minute=25, second=0,
                                                                      microsecond=0)
    valid_until = now + timedelta(days=6)
    oslo, bergen, trondheim = "NSR:StopPlace:337", "NSR:StopPlace:548", "NSR:StopPlace:659"
    lillehammer, drammen = "NSR:StopPlace:420", "NSR:StopPlace:11"
    bike = {"selectableId": "bike1", "name": "Bicycle", "supplementProductType": "BICYCLE",
            "price": {"amount": "150.00", "currency": "NOK", "taxAmount": "16.07"}}
    group_mapping = [{"travellerIds": TRAVELLERS, "minNumberOfTravellers": 2,
                      "maxNumberOfTravellers": 5, "userProfileId": "NSB:UserProfile:Group"}]
    return [
        _offer(BERGEN_OFFER, "Oslo S - Bergen, Ordinary (seat reservation)", valid_until,
               "899.00", "96.32",
               [_leg(BERGEN_DEPARTURE, oslo, bergen, day, 6.75, "RESERVATIONS_COMPULSORY")],
               TRAVELLERS[:2], changeFee=_price("50.00", "5.36"), refundFee=_price("100.00", "10.71")),
        _offer(TRONDHEIM_OFFER, "Oslo S - Trondheim S, Ordinary, non-refundable", valid_until,
               "649.00", "69.54",
               [_leg("NSB:DatedServiceJourney:41-trondheim", oslo, trondheim, day, 6.6,
                     "RESERVATIONS_POSSIBLE")],
               TRAVELLERS[:2], refundable=False, supplementProducts=[bike]),
        _offer(LILLEHAMMER_GROUP_OFFER, "Oslo S - Lillehammer, Group ticket (2-5 travellers)",
               valid_until, "1200.00", "128.57",
               [_leg("NSB:DatedServiceJourney:2x-lillehammer", oslo, lillehammer, day, 2.2,
                     "NO_RESERVATIONS_POSSIBLE")],
               TRAVELLERS, groupProduct=True, pricingBasis="PER_GROUP",
               travellerMapping=group_mapping),
        _offer(DRAMMEN_OFFER, "Drammen - Oslo S, Ordinary, not changeable", valid_until, "129.00",
               "13.82",
               [_leg("NSB:DatedServiceJourney:L1-drammen", drammen, oslo, day, 0.6,
                     "NO_RESERVATIONS_POSSIBLE")],
               TRAVELLERS[:1], changeable=False, refundable=False),
        # The same travellers to Bergen a day later, cheaper or dearer: alternatives to change to.
        _offer(BERGEN_MINIPRIS_OFFER, "Oslo S - Bergen, Minipris a day later, non-refundable",
               valid_until, "499.00", "53.46",
               [_leg(BERGEN_LATER_DEPARTURE, oslo, bergen, day + timedelta(days=1), 6.75,
                     "RESERVATIONS_RECOMMENDED")],
               TRAVELLERS[:2], refundable=False, changeFee=_price("50.00", "5.36")),
        _offer(BERGEN_PREMIUM_OFFER, "Oslo S - Bergen, Premium a day later", valid_until,
               "1299.00", "139.18",
               [_leg(BERGEN_LATER_DEPARTURE, oslo, bergen, day + timedelta(days=1), 6.75,
                     "RESERVATIONS_RECOMMENDED")],
               TRAVELLERS[:2], refundFee=_price("100.00", "10.71")),
    ]


DEMO_CAPACITY = {BERGEN_DEPARTURE: BERGEN_SEATS}
