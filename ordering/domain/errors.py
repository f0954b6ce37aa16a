"""Domain errors. Each carries the contract's error code; the HTTP layer maps code to status."""

from __future__ import annotations


class DomainError(Exception):
    code = "DOMAIN_ERROR"
    title = "Request refused"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidRequest(DomainError):
    code = "VALIDATION_FAILED"
    title = "Request is not valid"


class Forbidden(DomainError):
    code = "FORBIDDEN"
    title = "Not permitted"


class NotFound(DomainError):
    code = "NOT_FOUND"
    title = "Not found"


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"
    title = "Order not found"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} was not found")


class VersionNotFound(NotFound):
    code = "VERSION_NOT_FOUND"
    title = "Order version not found"

    def __init__(self, order_id: str, version: int) -> None:
        super().__init__(f"Order {order_id} has no confirmed version {version}")


class Conflict(DomainError):
    code = "CONFLICT"
    title = "Conflict"


class OrderLocked(Conflict):
    code = "ORDER_LOCKED"
    title = "Order is locked"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} has a payment in progress")


class OrderNotBalanced(Conflict):
    code = "ORDER_NOT_BALANCED"
    title = "Order is not balanced"


class OrderNotDraft(Conflict):
    code = "ORDER_NOT_DRAFT"
    title = "Order is not a draft"


class OrderEmpty(Conflict):
    code = "ORDER_EMPTY"
    title = "Order has no active order lines"


class NothingToFail(Conflict):
    code = "NOTHING_TO_FAIL"
    title = "Nothing to fail"


class ExternalConfirmationPending(Conflict):
    code = "EXTERNAL_CONFIRMATION_PENDING"
    title = "Waiting for external confirmation"


class ChangeNotAllowed(Conflict):
    code = "CHANGE_NOT_ALLOWED"
    title = "Change not allowed"


class RefundExceedsPaid(Conflict):
    code = "REFUND_EXCEEDS_PAID"
    title = "More than was paid"


class ConcurrentModification(Conflict):
    code = "CONCURRENT_MODIFICATION"
    title = "Order was changed concurrently"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} kept changing under this request; try again")


class VersionMismatch(Conflict):
    code = "VERSION_MISMATCH"
    title = "Order version mismatch"


class OrderNotConfirmed(Conflict):
    code = "ORDER_NOT_CONFIRMED"
    title = "Order is not confirmed"


class FeeNotFound(NotFound):
    code = "FEE_NOT_FOUND"
    title = "Fee not found"

    def __init__(self, fee_id: str) -> None:
        super().__init__(f"Fee {fee_id} was not found on the order")


class FeeConfirmed(Conflict):
    code = "FEE_CONFIRMED"
    title = "Fee is part of a confirmed version"


class RefundOptionNotFound(NotFound):
    code = "REFUND_OPTION_NOT_FOUND"
    title = "Refund option not found"

    def __init__(self, option_id: str) -> None:
        super().__init__(f"Refund option {option_id} was not found for this order version")


class RefundOptionExpired(Conflict):
    code = "REFUND_OPTION_EXPIRED"
    title = "Refund option expired"


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"
    title = "Precondition failed"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} has changed since the ETag sent in If-Match")
