"""Cross-origin calls from browsers: off unless ``CORS_ORIGINS`` names the origins allowed.

A preflight (``OPTIONS``) is answered without a token, whether CORS is on or not, so a browser
learns what it may send instead of a 401.
"""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

REQUEST_HEADERS = ["Authorization", "Content-Type", "ET-Client-Name", "X-Correlation-Id", "Entur-POS",
                   "Entur-Distribution-Channel", "Entur-On-Behalf-Of", "Idempotency-Key", "If-Match",
                   "If-None-Match"]
RESPONSE_HEADERS = ["X-Correlation-Id", "Location", "ETag", "Retry-After", "WWW-Authenticate",
                    "Idempotency-Replayed"]
PREFLIGHT_MAX_AGE_SECONDS = 600


def allow_cross_origin(app: Flask, origins: tuple[str, ...]) -> None:
    if not origins:
        return
    CORS(app, resources={r"/v1/*": {}, r"/openapi.json": {}}, origins=list(origins),
         allow_headers=REQUEST_HEADERS, expose_headers=RESPONSE_HEADERS,
         max_age=PREFLIGHT_MAX_AGE_SECONDS, vary_header=True)
