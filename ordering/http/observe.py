"""What every request leaves behind: one JSON access line and its metrics.

Registered before the other hooks, so its ``after_request`` runs last and sees the final status
(rate-limit refusals, problems and CORS headers included). Lines logged while a request is
served carry its correlation id, organisation, client, method and route (``logs.context_providers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, has_request_context, request
from werkzeug.wrappers import Response

from ordering import logs, metrics

access_log = logging.getLogger("ordering.http.access")
QUIET_PATHS = ("/health/", "/metrics", "/docs/assets/")
UNMATCHED_ROUTE = "unmatched"


def route() -> str:
    """The route's pattern (``/v1/orders/<order_id>``), never the raw path: few distinct values."""
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED_ROUTE


def request_fields() -> Mapping[str, Any]:
    if not has_request_context():
        return {}
    who = g.get("caller")
    return {
        "correlationId": g.get("correlation_id"),
        "organisationId": getattr(who, "organisation_id", None),
        "clientName": (request.headers.get("ET-Client-Name") or "")[:200] or None,
        "method": request.method,
        "route": route(),
    }


def _start() -> None:
    g.started_at = time.perf_counter()


def _finish(response: Response) -> Response:
    started = g.get("started_at")
    duration = time.perf_counter() - started if started is not None else 0.0
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    if request.path.startswith(QUIET_PATHS) and level == logging.INFO:
        level = logging.DEBUG
    access_log.log(level, "%s %s %s", request.method, request.path, response.status_code,
                   extra={"status": response.status_code, "durationMs": round(duration * 1000, 2),
                          "path": request.path})
    _count(response, duration)
    return response


def _count(response: Response, duration: float) -> None:
    labels = (route(), request.method, str(response.status_code))
    metrics.REQUESTS.labels(*labels).inc()
    metrics.LATENCY.labels(*labels).observe(duration)
    if response.mimetype == "application/problem+json":
        body = response.get_json(silent=True) or {}
        metrics.PROBLEMS.labels(str(response.status_code), str(body.get("code", "ERROR"))[:64]).inc()


def observe_requests(app: Flask) -> None:
    """Call before any other hook is registered."""
    if request_fields not in logs.context_providers:
        logs.context_providers.append(request_fields)
    app.before_request(_start)
    app.after_request(_finish)
