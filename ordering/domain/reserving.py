"""Turning an offer and a client's configuration into order lines and the seats they need."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from ordering.domain.errors import Conflict, InvalidRequest, NotFound
from ordering.domain.offer import RESERVATIONS_COMPULSORY, Offer
from ordering.domain.order import LineAddition
from ordering.domain.values import (
    FareProduct,
    Leg,
    OrderLine,
    Price,
    Reference,
    SeatReservation,
    Supplement,
    Traveller,
)

PER_PERSON = "PER_PERSON"

class OfferNotFound(NotFound):
    code = "OFFER_NOT_FOUND"
    title = "Offer not found"

    def __init__(self, offer_id: str) -> None:
        super().__init__(f"Offer {offer_id} was not found")


class OfferExpired(Conflict):
    code = "OFFER_EXPIRED"
    title = "Offer has expired"


@dataclass(frozen=True)
class OfferConfiguration:
    offer_id: str
    selected_traveller_ids: list[str] | None = None
    selectable_product_ids: list[str] = field(default_factory=list)
    external_reference: str | None = None
    count: int | None = None


def plan_lines(offer: Offer, config: OfferConfiguration, now: datetime, position: int = 0
               ) -> list[LineAddition]:
    """The lines (with travellers and seat reservations) that reserving ``config`` adds."""
    if not offer.is_valid_at(now):
        raise OfferExpired(f"Offer {offer.offer_id} was valid until {offer.data['validUntil']}")
    where = f"offerConfigurations.{position}"
    if config.count is not None and config.selected_traveller_ids is not None:
        raise InvalidRequest("count cannot be used together with selectedTravellerIds",
                             f"{where}.count")
    travellers = _selected_travellers(offer, config.selected_traveller_ids, f"{where}.selectedTravellerIds")
    supplements = [_supplement(offer, sid, f"{where}.selectableProductIds")
                   for sid in config.selectable_product_ids]
    groups = [travellers] if offer.is_group_product else [[t] for t in travellers]
    return [_line(offer, config, group, supplements)
            for _ in range(config.count or 1) for group in groups]


def check_currency(currency: str, offers: Iterable[Offer]) -> None:
    """An order holds one currency: offers priced in another cannot go into it."""
    for offer in offers:
        priced_in = offer.data["price"]["currency"]
        if priced_in != currency:
            raise InvalidRequest(f"offer {offer.offer_id} is priced in {priced_in}, the order in {currency}",
                                 "offerConfigurations")


def _selected_travellers(offer: Offer, selected: list[str] | None, where: str) -> list[Traveller]:
    mapped = [t for entry in offer.traveller_mapping for t in entry["travellerIds"]]
    chosen = mapped if selected is None else selected
    if len(set(chosen)) != len(chosen):
        raise InvalidRequest("a traveller may be selected only once", where)
    unknown = [t for t in chosen if t not in mapped]
    if unknown:
        raise InvalidRequest(f"not travellers of this offer: {', '.join(unknown)}", where)
    for entry in offer.traveller_mapping:
        n = sum(1 for t in chosen if t in entry["travellerIds"])
        low, high = entry.get("minNumberOfTravellers", 0), entry.get("maxNumberOfTravellers", n)
        if not low <= n <= high:
            raise InvalidRequest(
                f"{n} travellers of profile {entry.get('userProfileId')}; allowed {low} to {high}", where)
    if not chosen:
        raise InvalidRequest("at least one traveller must be selected", where)
    return [Traveller(t, offer.traveller_profile(t)) for t in chosen]


def _supplement(offer: Offer, selectable_id: str, where: str) -> Supplement:
    supplement = offer.supplement(selectable_id)
    if supplement is None:
        raise InvalidRequest(f"offer has no supplement product {selectable_id}", where)
    return Supplement.from_wire(supplement)


def _line(offer: Offer, config: OfferConfiguration, travellers: list[Traveller],
          supplements: list[Supplement]) -> LineAddition:
    line_id = str(uuid.uuid4())
    legs = offer.data.get("legs", [])
    reservations = [SeatReservation(str(uuid.uuid4()), line_id, leg["datedServiceJourneyId"], len(travellers))
                    for leg in legs if leg.get("reservingRequirement") == RESERVATIONS_COMPULSORY]
    line = OrderLine(
        id=line_id,
        status="DRAFT",
        external_confirmation="PENDING" if offer.data.get("externalConfirmationRequired") else None,
        offer_id=offer.offer_id,
        sales_package_ref=Reference.from_wire(offer.data["salesPackageRef"]),
        fare_products=tuple(FareProduct.from_wire(p) for p in offer.data.get("fareProducts", [])),
        supplement_products=tuple(supplements),
        traveller_ids=tuple(t.id for t in travellers),
        price=_line_price(offer, len(travellers), supplements),
        legs=tuple(Leg.from_wire(leg) for leg in legs),
        reservation_ids=tuple(r.id for r in reservations),
        external_reference=config.external_reference,
        conditions=offer.conditions,
    )
    return LineAddition(line, travellers, reservations)


def _line_price(offer: Offer, travellers: int, supplements: list[Supplement]) -> Price:
    units = travellers if offer.data.get("pricingBasis") == PER_PERSON else 1
    price = Price.from_wire(offer.data["price"]).times(units)
    for supplement in supplements:
        price = price.plus(supplement.price)
    return price
