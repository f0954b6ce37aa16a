"""ETag, If-Match and If-None-Match on orders (contract section 1, Safe retries).

Every answer that carries one order, or a change's result naming one, has the ETag of that order
as the request left it. A change with ``If-Match`` is checked inside the command, on the fresh
state it acts on, so a change that raced in between is caught (``412 PRECONDITION_FAILED``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, request

from ordering.application.base import OrderWatch, watching_orders

CHANGING_METHODS = ("POST", "PUT", "PATCH", "DELETE")
ORDER_READ_ENDPOINT = "orders.OrderById"


def etag_of(order_code: str, version: int) -> str:
    """Opaque to clients; changes with every event of the order."""
    return f"{order_code}-{version}"


def conditional(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view whose answer carries the ETag of the order it read or changed, and whose
    changes meet the request's ``If-Match``."""
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        precondition = _if_match() if request.method in CHANGING_METHODS else None
        with watching_orders(precondition) as watch:
            response = current_app.make_response(view(*args, **kwargs))
        return _tagged(response, watch)

    return wrapper


def _if_match() -> Callable[[str, int], bool] | None:
    if "If-Match" not in request.headers:
        return None
    expected = request.if_match
    return lambda code, version: expected.contains(etag_of(code, version))


def _tagged(response: Response, watch: OrderWatch) -> Response:
    if len(watch.versions) != 1 or not 200 <= response.status_code < 300:
        return response
    [(code, version)] = watch.versions.items()
    response.set_etag(etag_of(code, version))
    if _may_answer_not_modified():
        response.make_conditional(request)  # 304 with no body when If-None-Match matches
    return response


def _may_answer_not_modified() -> bool:
    """``If-None-Match`` on the current order only (not an earlier version or instant)."""
    return (request.method == "GET" and request.endpoint == ORDER_READ_ENDPOINT
            and "version" not in request.args and "at" not in request.args)
