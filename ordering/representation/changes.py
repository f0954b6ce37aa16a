"""What changed between two versions of an order, as the API answers it and the CLI prints it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from ordering.domain.history import VersionChanges
from ordering.representation.fields import Money
from ordering.representation.order import Fee, OrderLine, PaymentRef, Price


class Totals(Schema):
    totalAmount = Money(attribute="total_amount")
    totalTaxAmount = Money(attribute="total_tax_amount")
    balance = Money()


class LinesReplacedOut(Schema):
    originalOrderLineIds = fields.List(fields.String(), attribute="original_order_line_ids")
    replacedByOrderLineIds = fields.List(fields.String(), attribute="replaced_by_order_line_ids")


class SupplementAddedOut(Schema):
    orderLineId = fields.String(attribute="order_line_id")
    selectableId = fields.String(attribute="supplement.selectable_id")
    count = fields.Integer(attribute="supplement.count")
    price = fields.Nested(Price, attribute="supplement.price", metadata={
        "description": "the total for count"})


class OrderChangesOut(Schema):
    """Between version ``from`` (confirmed) and ``to`` (confirmed, or the current one). Every
    list is empty when nothing of its kind changed."""

    orderId = fields.String(attribute="order_id")
    from_version = fields.Integer(data_key="from", attribute="changes.from_version")
    to_version = fields.Integer(data_key="to", attribute="changes.to_version")
    linesAdded = fields.List(fields.Nested(OrderLine), attribute="changes.lines_added", metadata={
        "description": "every line `to` has and `from` had not, replacements' new lines included"})
    linesReplaced = fields.List(fields.Nested(LinesReplacedOut), attribute="changes.lines_replaced",
                                metadata={"description": "lines that became REPLACED, grouped by "
                                          "the lines that replace them"})
    linesCancelled = fields.List(fields.String(), attribute="changes.lines_cancelled", metadata={
        "description": "ids of lines that became CANCELLED"})
    supplementsAdded = fields.List(fields.Nested(SupplementAddedOut),
                                   attribute="changes.supplements_added")
    feesAdded = fields.List(fields.Nested(Fee), attribute="changes.fees_added")
    feesRemoved = fields.List(fields.Nested(Fee), attribute="changes.fees_removed")
    paymentRefs = fields.List(fields.Nested(PaymentRef), attribute="changes.payment_refs", metadata={
        "description": "captures and credits registered between the versions"})
    seatsHeld = fields.List(fields.String(), attribute="changes.seats_held", metadata={
        "description": "ids of seat reservations `to` holds and `from` did not"})
    seatsReleased = fields.List(fields.String(), attribute="changes.seats_released", metadata={
        "description": "ids of seat reservations `from` held and `to` does not"})
    totalsBefore = fields.Nested(Totals, attribute="changes.totals_before")
    totalsAfter = fields.Nested(Totals, attribute="changes.totals_after")


CHANGES_DOCUMENT = OrderChangesOut()


def changes_subject(order_id: str, changes: VersionChanges) -> dict[str, Any]:
    """What ``OrderChangesOut`` dumps."""
    return {"order_id": order_id, "changes": changes}


def changes_document(order_id: str, changes: VersionChanges) -> dict[str, Any]:
    document: dict[str, Any] = CHANGES_DOCUMENT.dump(changes_subject(order_id, changes))
    return document


def _price(price: dict[str, Any]) -> str:
    return f"{price['amount']} {price['currency']}"


def changes_lines(document: dict[str, Any]) -> list[str]:
    """The diff for terminals: one line per change, then the totals."""
    lines = [f"Order {document['orderId']}: changes from version {document['from']} to {document['to']}"]
    for line in document["linesAdded"]:
        lines.append(f"  + line {line['id']} {_price(line['price'])} ({line['status']}), "
                     f"travellers {', '.join(line['travellerIds'])}")
    for group in document["linesReplaced"]:
        lines.append(f"  ~ lines {', '.join(group['originalOrderLineIds'])} replaced by "
                     f"{', '.join(group['replacedByOrderLineIds'])}")
    lines += [f"  - line {line_id} cancelled" for line_id in document["linesCancelled"]]
    for added in document["supplementsAdded"]:
        lines.append(f"  + supplement {added['selectableId']} x{added['count']} "
                     f"{_price(added['price'])} on line {added['orderLineId']}")
    lines += [f"  + fee {fee['type']} {_price(fee['price'])}: {fee['reason']}"
              for fee in document["feesAdded"]]
    lines += [f"  - fee {fee['type']} {_price(fee['price'])}: {fee['reason']}"
              for fee in document["feesRemoved"]]
    for ref in document["paymentRefs"]:
        lines.append(f"  $ {ref['status'].lower()} {ref['amount']} {ref['currency']} "
                     f"({ref['paymentId'] or ref['creditId']})")
    lines += [f"  + seats {reservation_id}" for reservation_id in document["seatsHeld"]]
    lines += [f"  - seats {reservation_id} released" for reservation_id in document["seatsReleased"]]
    if len(lines) == 1:
        lines.append("  (no content changed)")
    for label, totals in (("before", document["totalsBefore"]), ("after", document["totalsAfter"])):
        lines.append(f"  totals {label}: total {totals['totalAmount']}, tax {totals['totalTaxAmount']}, "
                     f"balance {totals['balance']}")
    return lines
