"""Small builders shared by the tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ordering.application.context import CommandContext
from ordering.domain.order import LineAddition

CONTEXT = CommandContext("corr-1", 1, "tester", "acme-tests", "Entur-APP", "ENT:DistributionChannel:Web")


def context_of(organisation_id: int = 1, correlation_id: str = "corr-1") -> CommandContext:
    return CommandContext(correlation_id, organisation_id, "tester", "acme-tests", "Entur-APP",
                          "ENT:DistributionChannel:Web")


def a_line(amount: str = "100.00", tax: str = "10.71", seats: int = 0) -> LineAddition:
    line_id = str(uuid.uuid4())
    traveller = {"id": str(uuid.uuid4()), "userProfileId": "NSB:UserProfile:Adult"}
    reservations = [
        {"id": str(uuid.uuid4()), "orderLineId": line_id, "datedServiceJourneyId": "NSB:DSJ:1",
         "seats": 1}
        for _ in range(seats)
    ]
    line: dict[str, Any] = {
        "id": line_id,
        "status": "DRAFT",
        "externalConfirmation": None,
        "offerId": str(uuid.uuid4()),
        "salesPackageRef": {"id": "NSB:SalesPackage:Ordinary", "version": "NSB:Version:V1"},
        "fareProducts": [],
        "supplementProducts": [],
        "travellerIds": [traveller["id"]],
        "price": {"amount": Decimal(amount), "currency": "NOK", "taxAmount": Decimal(tax)},
        "legs": [],
        "reservationIds": [r["id"] for r in reservations],
        "externalReference": None,
        "replacesOrderLineIds": [],
        "replacedByOrderLineIds": [],
    }
    return LineAddition(line, [traveller], reservations)


def captured(amount: str) -> dict[str, Any]:
    return {"paymentId": str(uuid.uuid4()), "status": "CAPTURED", "amount": Decimal(amount),
            "currency": "NOK", "paymentType": "VISA", "capturedAt": None}


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
