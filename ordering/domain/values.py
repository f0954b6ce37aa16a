"""The order's parts as immutable, typed values: lines, travellers, seats, fees, payments, prices.

Each value has one wire form, the contract's camelCase JSON (``to_wire``/``from_wire``): events
store it (``ordering.application.transcodings``), the API answers it, and events written before
these types existed, which stored exactly that form as plain dicts, are read back through it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordering.domain.money import ZERO

Wire = dict[str, Any]
REDUCTION = "REDUCTION"
MANUAL, REFUNDING = "MANUAL", "REFUNDING"
CLIENT_FEE_TYPES = (MANUAL, "ONBOARD", "INVOICE", "PENALTY", "BOOKING", REDUCTION)


def _ids(values: Iterable[Any] | None) -> tuple[str, ...]:
    return tuple(str(v) for v in values or ())


def _without_none(wire: Wire, *optional: str) -> Wire:
    return {k: v for k, v in wire.items() if not (k in optional and v is None)}


@dataclass(frozen=True)
class Price:
    amount: Decimal
    currency: str
    tax_amount: Decimal

    def times(self, units: int) -> Price:
        return Price(self.amount * units, self.currency, self.tax_amount * units)

    def plus(self, other: Price) -> Price:
        return Price(self.amount + other.amount, self.currency, self.tax_amount + other.tax_amount)

    def to_wire(self) -> Wire:
        return {"amount": self.amount, "currency": self.currency, "taxAmount": self.tax_amount}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Price:
        return cls(Decimal(data["amount"]), str(data["currency"]), Decimal(data["taxAmount"]))


@dataclass(frozen=True)
class Reference:
    id: str
    version: str

    def to_wire(self) -> Wire:
        return {"id": self.id, "version": self.version}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Reference:
        return cls(data["id"], data["version"])


@dataclass(frozen=True)
class FareProduct:
    id: str
    version: str
    selectable_id: str | None = None

    def to_wire(self) -> Wire:
        return _without_none({"id": self.id, "version": self.version, "selectableId": self.selectable_id},
                             "selectableId")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> FareProduct:
        return cls(data["id"], data["version"], data.get("selectableId"))


@dataclass(frozen=True)
class Supplement:
    """A supplement product on a line; ``price`` is the total for ``count``."""

    selectable_id: str
    price: Price
    name: str | None = None
    supplement_product_type: str | None = None
    count: int = 1

    def to_wire(self) -> Wire:
        return _without_none({"selectableId": self.selectable_id, "name": self.name,
                              "supplementProductType": self.supplement_product_type,
                              "count": self.count, "price": self.price.to_wire()},
                             "name", "supplementProductType")

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Supplement:
        return cls(data["selectableId"], Price.from_wire(data["price"]), data.get("name"),
                   data.get("supplementProductType"), int(data.get("count") or 1))

    def times(self, count: int) -> Supplement:
        """``count`` of this supplement (one unit's price times ``count``)."""
        return replace(self, price=self.price.times(count), count=count)


@dataclass(frozen=True)
class Leg:
    dated_service_journey_id: str
    service_journey_id: str | None = None
    original_dated_service_journey_id: str | None = None
    from_stop_place_id: str | None = None
    to_stop_place_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None

    def to_wire(self) -> Wire:
        return {"serviceJourneyId": self.service_journey_id,
                "datedServiceJourneyId": self.dated_service_journey_id,
                "originalDatedServiceJourneyId": self.original_dated_service_journey_id,
                "fromStopPlaceId": self.from_stop_place_id, "toStopPlaceId": self.to_stop_place_id,
                "startTime": self.start_time, "endTime": self.end_time}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Leg:
        return cls(data["datedServiceJourneyId"], data.get("serviceJourneyId"),
                   data.get("originalDatedServiceJourneyId"), data.get("fromStopPlaceId"),
                   data.get("toStopPlaceId"), data.get("startTime"), data.get("endTime"))


@dataclass(frozen=True)
class Traveller:
    id: str
    user_profile_id: str | None = None

    def to_wire(self) -> Wire:
        return {"id": self.id, "userProfileId": self.user_profile_id}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Traveller:
        return cls(data["id"], data.get("userProfileId"))


@dataclass(frozen=True)
class SeatReservation:
    """Seats one order line holds on one departure."""

    id: str
    order_line_id: str
    dated_service_journey_id: str
    seats: int

    def to_wire(self) -> Wire:
        return {"id": self.id, "orderLineId": self.order_line_id,
                "datedServiceJourneyId": self.dated_service_journey_id, "seats": self.seats}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SeatReservation:
        return cls(data["id"], data["orderLineId"], data["datedServiceJourneyId"], int(data["seats"]))


@dataclass(frozen=True)
class Conditions:
    """The after-sales conditions a line copies from its offer when it is reserved."""

    refundable: bool = True
    changeable: bool = True
    change_fee: Price | None = None
    refund_fee: Price | None = None

    def to_wire(self) -> Wire:
        return {"refundable": self.refundable, "changeable": self.changeable,
                "changeFee": self.change_fee.to_wire() if self.change_fee else None,
                "refundFee": self.refund_fee.to_wire() if self.refund_fee else None}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Conditions:
        change_fee, refund_fee = data.get("changeFee"), data.get("refundFee")
        return cls(bool(data.get("refundable", True)), bool(data.get("changeable", True)),
                   Price.from_wire(change_fee) if change_fee else None,
                   Price.from_wire(refund_fee) if refund_fee else None)


@dataclass(frozen=True)
class OrderLine:
    id: str
    status: str
    external_confirmation: str | None
    offer_id: str
    sales_package_ref: Reference
    fare_products: tuple[FareProduct, ...]
    supplement_products: tuple[Supplement, ...]
    traveller_ids: tuple[str, ...]
    price: Price
    legs: tuple[Leg, ...]
    reservation_ids: tuple[str, ...]
    external_reference: str | None = None
    replaces_order_line_ids: tuple[str, ...] = ()
    replaced_by_order_line_ids: tuple[str, ...] = ()
    version: int = 0  # the order version that added or last changed it
    # Lines sold before conditions were copied (events of earlier releases) have none: their
    # offer's conditions apply (``conditions_of`` in the application).
    conditions: Conditions | None = None

    def with_status(self, status: str) -> OrderLine:
        return replace(self, status=status)

    def with_supplements(self, added: Sequence[Supplement]) -> OrderLine:
        """The same line (id, seats) with more supplement products, its price grown by theirs."""
        price = self.price
        for supplement in added:
            price = price.plus(supplement.price)
        return replace(self, supplement_products=(*self.supplement_products, *added), price=price)

    def to_wire(self) -> Wire:
        return {
            "id": self.id, "version": self.version, "status": self.status,
            "externalConfirmation": self.external_confirmation, "offerId": self.offer_id,
            "salesPackageRef": self.sales_package_ref.to_wire(),
            "fareProducts": [p.to_wire() for p in self.fare_products],
            "supplementProducts": [s.to_wire() for s in self.supplement_products],
            "travellerIds": list(self.traveller_ids), "price": self.price.to_wire(),
            "legs": [leg.to_wire() for leg in self.legs], "reservationIds": list(self.reservation_ids),
            "externalReference": self.external_reference,
            "replacesOrderLineIds": list(self.replaces_order_line_ids),
            "replacedByOrderLineIds": list(self.replaced_by_order_line_ids),
            "conditions": self.conditions.to_wire() if self.conditions else None,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> OrderLine:
        return cls(
            id=data["id"], status=data["status"], external_confirmation=data.get("externalConfirmation"),
            offer_id=data["offerId"], sales_package_ref=Reference.from_wire(data["salesPackageRef"]),
            fare_products=tuple(FareProduct.from_wire(p) for p in data.get("fareProducts") or ()),
            supplement_products=tuple(Supplement.from_wire(s) for s in data.get("supplementProducts") or ()),
            traveller_ids=_ids(data.get("travellerIds")), price=Price.from_wire(data["price"]),
            legs=tuple(Leg.from_wire(leg) for leg in data.get("legs") or ()),
            reservation_ids=_ids(data.get("reservationIds")),
            external_reference=data.get("externalReference"),
            replaces_order_line_ids=_ids(data.get("replacesOrderLineIds")),
            replaced_by_order_line_ids=_ids(data.get("replacedByOrderLineIds")),
            version=int(data.get("version") or 0),
            conditions=Conditions.from_wire(data["conditions"]) if data.get("conditions") else None,
        )


@dataclass(frozen=True)
class Fee:
    id: str
    type: str
    price: Price
    reason: str
    order_line_ids: tuple[str, ...] = ()
    external_reference: str | None = None
    version: int = 0
    # Added with POST .../fees, so the client may remove it while unconfirmed. Fees stored
    # before clients could add any were all the service's own.
    by_client: bool = False

    @property
    def signed_price(self) -> Price:
        """What the fee adds to the order's total: a reduction takes away."""
        return self.price.times(-1) if self.type == REDUCTION else self.price

    def to_wire(self) -> Wire:
        return {"id": self.id, "type": self.type, "price": self.price.to_wire(), "reason": self.reason,
                "orderLineIds": list(self.order_line_ids), "externalReference": self.external_reference,
                "version": self.version, "byClient": self.by_client}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Fee:
        return cls(data["id"], data["type"], Price.from_wire(data["price"]), data.get("reason") or "",
                   _ids(data.get("orderLineIds")), data.get("externalReference"),
                   int(data.get("version") or 0), bool(data.get("byClient")))


@dataclass(frozen=True)
class PaymentRef:
    """A captured payment (``payment_id``) or a credit (``credit_id``) registered on the order;
    ``captured_at`` is when it was registered. The amount is always positive."""

    payment_id: str | None
    status: str
    amount: Decimal
    currency: str
    payment_type: str | None
    captured_at: datetime | None
    credit_id: str | None = None

    @property
    def captured(self) -> Decimal:
        return self.amount if self.status == "CAPTURED" else ZERO

    @property
    def credited(self) -> Decimal:
        return self.amount if self.status == "CREDITED" else ZERO

    def to_wire(self) -> Wire:
        return {"paymentId": self.payment_id, "creditId": self.credit_id, "status": self.status,
                "amount": self.amount, "currency": self.currency, "paymentType": self.payment_type,
                "capturedAt": self.captured_at}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> PaymentRef:
        return cls(data.get("paymentId"), data["status"], Decimal(data["amount"]), data["currency"],
                   data.get("paymentType"), data.get("capturedAt"), data.get("creditId"))


@dataclass(frozen=True)
class Lock:
    """A payment in progress holds the order."""

    payment_id: str
    locked_at: datetime

    def to_wire(self) -> Wire:
        return {"paymentId": self.payment_id, "lockedAt": self.locked_at}

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Lock:
        return cls(data["paymentId"], data["lockedAt"])


VALUE_TYPES: tuple[type[Any], ...] = (Price, Reference, FareProduct, Supplement, Leg, Traveller, Conditions,
                                      SeatReservation, OrderLine, Fee, PaymentRef, Lock)
