"""Rate limits per ``ET-Client-Name``: identified clients get their own, larger bucket."""

from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter

from ordering.settings import Settings

ANONYMOUS_BUCKET = "anonymous"
EXEMPT_PREFIXES = ("/health/", "/docs", "/openapi.json", "/metrics")


def client_bucket() -> str:
    name = request.headers.get("ET-Client-Name")
    return f"client:{name[:200]}" if name else ANONYMOUS_BUCKET


def limit_for_request() -> str:
    settings: Settings = current_app.extensions["ordering"].settings
    if request.headers.get("ET-Client-Name"):
        return settings.rate_limit_identified
    return settings.rate_limit_anonymous


def is_exempt() -> bool:
    return request.path.startswith(EXEMPT_PREFIXES)


def limiter_for(settings: Settings) -> Limiter:
    return Limiter(
        key_func=client_bucket,
        default_limits=[limit_for_request],
        storage_uri=settings.rate_limit_storage,
        headers_enabled=True,
        default_limits_exempt_when=is_exempt,
        strategy="moving-window",
        swallow_errors=True,  # a rate-limit store that is down lets calls through, never a 500
    )
