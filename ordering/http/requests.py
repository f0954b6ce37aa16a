"""What a request tells about its caller: token, correlation id, sales headers, the service."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from eventsourcing.persistence import OperationalError
from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from werkzeug.wrappers import Response

from ordering.application import OrderingApplication
from ordering.application.context import CommandContext
from ordering.bootstrap import Services
from ordering.http.problems import ApiProblem, keep_retry_after_where_it_belongs
from ordering.http.text import check_body_text, check_parameters_text
from ordering.settings import Settings
from ordering.store import UNAVAILABLE_ERRORS
from ordering.tokens import Caller, InvalidToken, TokenKeys
from projections import ReadModel

PRINTABLE_HEADER = re.compile(r"^[\x20-\x7e]{1,200}$")
ON_BEHALF_OF_PERMISSION = "orders:on-behalf-of"
REBUILD_AFTER_SECONDS = 1.0


@dataclass
class ServiceHolder:
    """Builds the services lazily, once per process (after any fork)."""

    settings: Settings
    build: Callable[[Settings], Services]
    keys: TokenKeys
    _services: Services | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed_at: float | None = None
    _failure: str = ""

    def services(self) -> Services:
        if self._services is None:
            with self._lock:
                if self._services is None:
                    self._services = self._build()
        return self._services

    def _build(self) -> Services:
        """Building needs the database. While it cannot be reached, the threads queued behind a
        failed build fail at once instead of each waiting its own pool timeout in turn."""
        if self._failed_at is not None and time.monotonic() - self._failed_at < REBUILD_AFTER_SECONDS:
            raise OperationalError(f"the database could not be reached just now: {self._failure}")
        try:
            built = self.build(self.settings)
        except UNAVAILABLE_ERRORS as error:
            self._failed_at, self._failure = time.monotonic(), str(error)
            raise
        self._failed_at = None
        return built

    def application(self) -> OrderingApplication:
        return self.services().application

    def close(self) -> None:
        if self._services is not None:
            self._services.close()
            self._services = None


def holder() -> ServiceHolder:
    found: ServiceHolder = current_app.extensions["ordering"]
    return found


def service() -> OrderingApplication:
    return holder().application()


def read_model() -> ReadModel:
    return holder().services().read_model


def caller() -> Caller:
    found: Caller = g.caller
    return found


def header(name: str, required: bool = False) -> str | None:
    value = request.headers.get(name)
    if value is None or value == "":
        if required:
            raise ApiProblem(400, f"Header {name} is required", name)
        return None
    if not PRINTABLE_HEADER.match(value):
        raise ApiProblem(400, f"Header {name} must be 1-200 printable characters", name)
    return value


def command_context(require_sales_headers: bool = False,
                    organisation_id: int | None = None) -> CommandContext:
    who = caller()
    return CommandContext(
        correlation_id=g.correlation_id,
        organisation_id=organisation_id if organisation_id is not None else who.organisation_id,
        subject=who.subject,
        client_name=header("ET-Client-Name"),
        pos=header("Entur-POS", require_sales_headers),
        distribution_channel_id=header("Entur-Distribution-Channel", require_sales_headers),
    )


def organisation_for_new_order(override: int | None) -> int | None:
    """``Entur-On-Behalf-Of`` or ``organisationOverride``: needs the on-behalf-of permission."""
    on_behalf = header("Entur-On-Behalf-Of")
    chosen = override
    if on_behalf is not None:
        if not (on_behalf.isdigit() and len(on_behalf) <= 9):
            raise ApiProblem(400, "Entur-On-Behalf-Of must be an organisation id", "Entur-On-Behalf-Of")
        if override is not None and int(on_behalf) != override:
            raise ApiProblem(400, "Entur-On-Behalf-Of and organisationOverride differ",
                             "organisationOverride")
        chosen = int(on_behalf)
    acts_for_another = chosen is not None and chosen != caller().organisation_id
    if acts_for_another and not caller().may(ON_BEHALF_OF_PERMISSION):
        raise ApiProblem(403, f"Acting for another organisation needs {ON_BEHALF_OF_PERMISSION}")
    return chosen


def _assign_correlation_id() -> None:
    given = request.headers.get("X-Correlation-Id")
    if given is not None and not PRINTABLE_HEADER.match(given):
        g.correlation_id = str(uuid.uuid4())
        raise ApiProblem(400, "X-Correlation-Id must be 1-200 printable characters",
                         "X-Correlation-Id")
    g.correlation_id = given or str(uuid.uuid4())


def _authenticate() -> None:
    if not request.path.startswith("/v1/") and request.path != "/v1":
        return
    if request.method == "OPTIONS":
        return  # a CORS preflight carries no credentials; it is answered, never refused
    authorization = request.headers.get("Authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(401, "A bearer token is required (Authorization: Bearer <JWT>)")
    try:
        g.caller = holder().keys.verify(token.strip())
    except InvalidToken as error:
        raise ApiProblem(401, f"The bearer token was refused: {error}") from None


def _require_clean_request() -> None:
    """Bodies must be JSON that parses (too deep nesting or giant numbers are a 400, not a
    crash), and no text anywhere in the request may carry control characters."""
    check_parameters_text([*request.args.items(multi=True), *(request.view_args or {}).items()])
    has_body = request.method in ("POST", "PUT", "PATCH") and request.content_length
    if not has_body:
        return
    if not request.is_json:
        raise ApiProblem(415, "Request bodies must be application/json", "Content-Type")
    try:
        body = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        raise ApiProblem(400, "The body is not valid JSON (or nests or counts beyond our limits)",
                         "body") from None
    check_body_text(body)


def _echo_correlation_id(response: Response) -> Response:
    response.headers["X-Correlation-Id"] = g.get("correlation_id") or str(uuid.uuid4())
    return response


def register_request_hooks(app: Flask, limiter: Limiter) -> None:
    """Correlation id first (every answer carries one), then the rate limit, then the token."""
    app.before_request(_assign_correlation_id)
    app.after_request(keep_retry_after_where_it_belongs)  # runs after the limiter's own hook
    limiter.init_app(app)
    app.before_request(_authenticate)
    app.before_request(_require_clean_request)
    app.after_request(_echo_correlation_id)
