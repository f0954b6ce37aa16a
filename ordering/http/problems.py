"""Every error leaves as RFC 9457 problem+json with the contract's ``code``: never a trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from ordering.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
)
from ordering.store import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

STATUS_OF_DOMAIN_ERROR: list[tuple[type[DomainError], int]] = [
    (InvalidRequest, 400),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (PreconditionFailed, 412),
]

CODE_OF_STATUS = {
    400: "VALIDATION_FAILED",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    412: "PRECONDITION_FAILED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
}
MAX_FIELD_ERRORS = 20
UNAVAILABLE_RETRY_AFTER_SECONDS = 2
RETRY_AFTER_STATUSES = (429, 503)
RETRY_AFTER_CONFLICTS = ("IDEMPOTENCY_KEY_IN_USE",)


class ApiProblem(Exception):
    """A problem raised by the HTTP layer itself (authentication, headers)."""

    def __init__(self, status: int, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


def problem(status: int, code: str, title: str, detail: str,
            errors: list[dict[str, str]] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"/problems/{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "correlationId": g.get("correlation_id"),
    }
    if errors:
        body["errors"] = errors[:MAX_FIELD_ERRORS]
        if len(errors) > MAX_FIELD_ERRORS:
            body["detail"] = f"{detail} (the first {MAX_FIELD_ERRORS} of {len(errors)} errors)"
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _field_errors(field: str | None, message: str) -> list[dict[str, str]] | None:
    return [{"field": field, "message": message}] if field else None


def handle_domain_error(error: DomainError) -> Response:
    status = next(s for kind, s in STATUS_OF_DOMAIN_ERROR if isinstance(error, kind))
    return problem(status, error.code, error.title, error.detail,
                   _field_errors(error.field, error.detail))


def handle_api_problem(error: ApiProblem) -> Response:
    code = CODE_OF_STATUS.get(error.status, "ERROR")
    return problem(error.status, code, code.replace("_", " ").capitalize(), error.detail,
                   _field_errors(error.field, error.detail))


def handle_http_exception(error: HTTPException) -> Response:
    status = 400 if error.code == 422 else (error.code or 500)
    code = CODE_OF_STATUS.get(status, "ERROR")
    messages = getattr(error, "data", {}).get("messages")
    errors = flatten_messages(messages) if messages else None
    detail = "Request is not valid" if errors else (error.description or error.name)
    response = problem(status, code, error.name if status != 400 else "Request is not valid",
                       detail, errors)
    for name, value in (error.get_headers() or []):
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response


def handle_validation_error(error: ValidationError) -> Response:
    return problem(400, "VALIDATION_FAILED", "Request is not valid", "Request is not valid",
                   flatten_messages(error.messages))


def handle_store_unavailable(error: Exception) -> Response:
    log.error("database unavailable: %s: %s", type(error).__name__, error)
    return unavailable("The database cannot be reached; try again shortly")


def unavailable(detail: str) -> Response:
    response = problem(503, "SERVICE_UNAVAILABLE", "Service unavailable", detail)
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def keep_retry_after_where_it_belongs(response: Response) -> Response:
    """``Retry-After`` only on 429, 503 and 409 IDEMPOTENCY_KEY_IN_USE, and never below 1 s
    (the rate limiter adds one to every answer, sometimes negative)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return response
    if not _may_carry_retry_after(response):
        del response.headers["Retry-After"]
    elif not value.isdigit() or int(value) < 1:
        response.headers["Retry-After"] = "1"
    return response


def handle_unexpected(error: Exception) -> Response:
    log.exception("unexpected error")
    return problem(500, "INTERNAL_ERROR", "Internal error",
                   "The service failed to answer; the error is logged under this correlation id")


def flatten_messages(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """webargs/marshmallow's nested ``{location: {field: [msg]}}`` as a flat list of fields."""
    if isinstance(messages, dict):
        flat: list[dict[str, str]] = []
        for key, value in messages.items():
            name = _field_name(prefix, str(key))
            flat.extend(flatten_messages(value, name))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [{"field": prefix or "body", "message": m} for m in messages]
    if isinstance(messages, list):
        return [e for m in messages for e in flatten_messages(m, prefix)]
    return [{"field": prefix or "body", "message": str(messages)}]


def _field_name(prefix: str, key: str) -> str:
    if not prefix and key in ("json", "query", "querystring", "form", "files", "view_args"):
        return ""
    if key == "_schema":
        return prefix
    return f"{prefix}.{key}" if prefix else key


def _may_carry_retry_after(response: Response) -> bool:
    if response.status_code == 409 and response.mimetype == "application/problem+json":
        body = response.get_json(silent=True) or {}
        return body.get("code") in RETRY_AFTER_CONFLICTS
    return response.status_code in RETRY_AFTER_STATUSES


def register_problem_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(ApiProblem, handle_api_problem)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ValidationError, handle_validation_error)
    for kind in UNAVAILABLE_ERRORS:
        app.register_error_handler(kind, handle_store_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
