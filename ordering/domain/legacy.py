"""What earlier releases stored: the order's parts as plain camelCase dicts, made typed here.

Used by the upcasters of ``Order`` (its snapshots) and of its version-2 events.
"""

from __future__ import annotations

from typing import Any

from ordering.domain.values import Fee, OrderLine, PaymentRef, SeatReservation, Traveller


def lines_from(values: list[Any]) -> list[OrderLine]:
    return [v if isinstance(v, OrderLine) else OrderLine.from_wire(v) for v in values]


def travellers_from(values: list[Any]) -> list[Traveller]:
    return [v if isinstance(v, Traveller) else Traveller.from_wire(v) for v in values]


def reservations_from(values: list[Any]) -> list[SeatReservation]:
    return [v if isinstance(v, SeatReservation) else SeatReservation.from_wire(v) for v in values]


def payment_refs_from(values: list[Any]) -> list[PaymentRef]:
    return [v if isinstance(v, PaymentRef) else PaymentRef.from_wire(v) for v in values]


def fees_from(values: list[Any]) -> list[Fee]:
    return [v if isinstance(v, Fee) else Fee.from_wire(v) for v in values]


def upcast_content(state: dict[str, Any]) -> None:
    """Order state written before its parts were typed (plain camelCase dicts), in place."""
    for name, typed in (("lines", lines_from), ("travellers", travellers_from),
                        ("reservations", reservations_from), ("payment_refs", payment_refs_from),
                        ("fees", fees_from)):
        if name in state:
            state[name] = typed(state[name])
