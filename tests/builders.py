"""Small builders shared by the tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

from ordering.application.context import CommandContext
from ordering.domain.order import LineAddition
from ordering.domain.values import OrderLine, PaymentRef, Price, Reference, SeatReservation, Traveller

CONTEXT = CommandContext("corr-1", 1, "tester", "acme-tests", "Entur-APP", "ENT:DistributionChannel:Web")


def context_of(organisation_id: int = 1, correlation_id: str = "corr-1") -> CommandContext:
    return CommandContext(correlation_id, organisation_id, "tester", "acme-tests", "Entur-APP",
                          "ENT:DistributionChannel:Web")


def a_line(amount: str = "100.00", tax: str = "10.71", seats: int = 0) -> LineAddition:
    line_id = str(uuid.uuid4())
    traveller = Traveller(str(uuid.uuid4()), "NSB:UserProfile:Adult")
    reservations = [SeatReservation(str(uuid.uuid4()), line_id, "NSB:DSJ:1", 1) for _ in range(seats)]
    line = OrderLine(
        id=line_id, status="DRAFT", external_confirmation=None, offer_id=str(uuid.uuid4()),
        sales_package_ref=Reference("NSB:SalesPackage:Ordinary", "NSB:Version:V1"),
        fare_products=(), supplement_products=(), traveller_ids=(traveller.id,),
        price=Price(Decimal(amount), "NOK", Decimal(tax)), legs=(),
        reservation_ids=tuple(r.id for r in reservations),
    )
    return LineAddition(line, [traveller], reservations)


def captured(amount: str) -> PaymentRef:
    return PaymentRef(str(uuid.uuid4()), "CAPTURED", Decimal(amount), "NOK", "VISA", None)


def run_together(*actions: Callable[[], object]) -> None:
    """Start every action on its own thread at the same instant; wait for all of them."""
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], object]) -> None:
        start.wait()
        action()

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
