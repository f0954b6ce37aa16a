"""Liveness, readiness and the offline API docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Blueprint, send_from_directory
from werkzeug.wrappers import Response

from ordering.http.problems import unavailable
from ordering.http.requests import read_model

health = Blueprint("health", __name__)
SWAGGER_UI_ASSETS = Path(flask_swagger_ui.__file__).parent / "dist"
SWAGGER_UI_URL = "/docs/assets/"


@health.get("/health/live")
def live() -> dict[str, Any]:
    return {"status": "UP"}


@health.get("/health/ready")
def ready() -> tuple[dict[str, Any], int] | Response:
    """Ready while both stores answer; DEGRADED (still 200) while events are parked."""
    try:
        health = read_model().health()
    except Exception as error:  # any failure to reach the stores means not ready
        return unavailable(f"not ready, a store is unreachable: {type(error).__name__}")
    return {"status": "DEGRADED" if health["parked"] else "UP",
            "eventStore": {"headPosition": health["head"]},
            "readModel": {"position": health["position"], "lag": health["head"] - health["position"],
                          "parkedOrders": health["parked"]}}, 200


@health.get(f"{SWAGGER_UI_URL}<path:filename>")
def swagger_ui_asset(filename: str) -> Response:
    """Swagger UI's files from an installed package, so /docs works with no internet."""
    return send_from_directory(SWAGGER_UI_ASSETS, filename)
