"""Replacing sold order lines: which lines a change may touch, and what it costs.

Pure rules over the order's state and typed values (no store, no clock): the application plans
the new lines from offers, these functions check the replacement against the order and work out
its fees from the last confirmed version of the replaced lines (contract section 6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ordering.domain.errors import ChangeNotAllowed, InvalidRequest
from ordering.domain.money import ZERO
from ordering.domain.offer import Offer
from ordering.domain.order import LineAddition
from ordering.domain.order_state import DRAFT, OrderState
from ordering.domain.reserving import OfferConfiguration
from ordering.domain.values import Conditions, Fee, OrderLine, Price, Supplement

CHANGE = "CHANGE"
CHANGE_NON_REFUNDABLE = "CHANGE_NON_REFUNDABLE"


@dataclass(frozen=True)
class Replacement:
    """The lines one change replaces and the new lines made for them."""

    original_ids: tuple[str, ...]
    additions: tuple[LineAddition, ...]
    where: str  # the request field that named it, for errors

    @property
    def new_ids(self) -> tuple[str, ...]:
        return tuple(addition.line.id for addition in self.additions)


def check_replaceable(order: OrderState, replacements: Sequence[Replacement],
                      conditions: Mapping[str, Conditions]) -> None:
    """Every replaced line is an active line of the order, named once, changeable, not itself an
    unconfirmed replacement; the new lines carry exactly the replaced lines' travellers."""
    active = {line.id: line for line in order.active_lines}
    seen: set[str] = set()
    for replacement in replacements:
        for line_id in replacement.original_ids:
            line = active.get(line_id)
            if line is None:
                raise InvalidRequest(f"{line_id} is not an active order line of {order.code}",
                                     replacement.where)
            if line_id in seen:
                raise InvalidRequest(f"order line {line_id} is replaced twice", replacement.where)
            seen.add(line_id)
            _check_changeable(line, conditions[line_id])
        _check_same_travellers(replacement, [active[i] for i in replacement.original_ids])


def _check_changeable(line: OrderLine, conditions: Conditions) -> None:
    if not conditions.changeable:
        raise ChangeNotAllowed(f"order line {line.id} is not changeable")
    if line.status == DRAFT and line.replaces_order_line_ids:
        raise ChangeNotAllowed(f"order line {line.id} is an unconfirmed replacement: reset the order first")


def _check_same_travellers(replacement: Replacement, originals: list[OrderLine]) -> None:
    before = sorted(t for line in originals for t in line.traveller_ids)
    after = sorted(t for addition in replacement.additions for t in addition.line.traveller_ids)
    if before != after:
        raise InvalidRequest(f"the new lines must carry exactly the travellers {', '.join(before)}",
                             f"{replacement.where}.selectedTravellerIds")


def change_fees(order: OrderState, replacement: Replacement, conditions: Mapping[str, Conditions],
                fee_ids: Sequence[str]) -> list[Fee]:
    """``CHANGE`` fees of the replaced lines that had been confirmed, and a
    ``CHANGE_NON_REFUNDABLE`` fee keeping the difference when the new lines are cheaper and a
    confirmed replaced line is not refundable. ``fee_ids`` has two fresh ids per replaced line."""
    confirmed = [line for line in order.last_confirmed_state["lines"]
                 if line.id in replacement.original_ids]
    ids = iter(fee_ids)
    fees = [Fee(next(ids), CHANGE, fee, "change of the order line", (line.id,))
            for line in confirmed if (fee := conditions[line.id].change_fee) is not None]
    if not confirmed:
        return fees
    old = _sum(line.price for line in confirmed)
    new = _sum(addition.line.price for addition in replacement.additions)
    if new.amount < old.amount and any(not conditions[line.id].refundable for line in confirmed):
        kept = Price(old.amount - new.amount, old.currency, max(old.tax_amount - new.tax_amount, ZERO))
        fees.append(Fee(next(ids), CHANGE_NON_REFUNDABLE, kept, "price difference kept: not refundable",
                        tuple(line.id for line in confirmed)))
    return fees


def _sum(prices: Iterable[Price]) -> Price:
    listed = list(prices)
    total = listed[0]
    for price in listed[1:]:
        total = total.plus(price)
    return total


@dataclass(frozen=True)
class ReplaceConfiguration:
    """One entry of an update-order request: replace ``order_line_id`` (and, with
    ``selected_order_line_ids``, every line listed there) with lines made from ``offer_id``."""

    order_line_id: str
    offer_id: str
    selected_traveller_ids: list[str] | None = None
    selected_order_line_ids: list[str] | None = None
    selectable_product_ids: list[str] = field(default_factory=list)
    external_reference: str | None = None

    def as_offer_configuration(self) -> OfferConfiguration:
        return OfferConfiguration(self.offer_id, self.selected_traveller_ids,
                                  self.selectable_product_ids, self.external_reference)


def group_configurations(configurations: Sequence[ReplaceConfiguration]
                         ) -> list[tuple[tuple[str, ...], list[int]]]:
    """Configurations naming the same line make one replacement (one to many); each group's
    lines are ``selectedOrderLineIds`` (many to one) or the line itself. Returns (replaced line
    ids, positions of its configurations)."""
    groups: dict[str, tuple[tuple[str, ...], list[int]]] = {}
    for position, config in enumerate(configurations):
        where = f"offerConfigurations.{position}.selectedOrderLineIds"
        originals = tuple(dict.fromkeys(config.selected_order_line_ids or (config.order_line_id,)))
        if config.order_line_id not in originals:
            raise InvalidRequest("selectedOrderLineIds must include orderLineId", where)
        known = groups.setdefault(config.order_line_id, (originals, []))
        if set(known[0]) != set(originals):  # the same lines, in whatever order
            raise InvalidRequest("configurations replacing the same line must select the same lines", where)
        known[1].append(position)
    return list(groups.values())


@dataclass(frozen=True)
class SupplementRequest:
    """Add ``count`` of each ``selectable_id`` to the active line ``order_line_id``."""

    order_line_id: str
    offer_id: str
    products: list[tuple[str, int]]


def lines_with_supplements(order: OrderState, requests: Sequence[SupplementRequest],
                           offers: Mapping[str, Offer]) -> list[OrderLine]:
    """The lines as they will be with the supplements added (same ids and seats)."""
    active = {line.id: line for line in order.active_lines}
    changed: dict[str, OrderLine] = {}
    for position, request in enumerate(requests):
        where = f"offerConfigurations.{position}"
        line = changed.get(request.order_line_id) or active.get(request.order_line_id)
        if line is None:
            raise InvalidRequest(f"{request.order_line_id} is not an active order line of {order.code}",
                                 f"{where}.orderLineId")
        if request.offer_id != line.offer_id:
            raise InvalidRequest("supplements come from the offer the line was reserved from",
                                 f"{where}.offerId")
        added = [_supplement(offers[request.offer_id], selectable_id, count,
                             f"{where}.selectedProductsConfiguration.{index}.selectableId")
                 for index, (selectable_id, count) in enumerate(request.products)]
        changed[line.id] = line.with_supplements(added)
    return list(changed.values())


def _supplement(offer: Offer, selectable_id: str, count: int, where: str) -> Supplement:
    found = offer.supplement(selectable_id)
    if found is None:
        raise InvalidRequest(f"offer {offer.offer_id} has no supplement product {selectable_id}", where)
    return Supplement.from_wire(found).times(count)
