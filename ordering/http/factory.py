"""The Flask HTTP facade: the app factory wires settings, hooks, blueprints and the docs."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask
from flask_smorest import Api

from ordering.bootstrap import Services, build_services
from ordering.following import start_followers, start_read_model_follower
from ordering.http import after_sales, feed, history, openapi, orders, refunds, sales, ticketing
from ordering.http import health as health_views
from ordering.http import metrics as metrics_views
from ordering.http.conditional import conditional
from ordering.http.cors import allow_cross_origin
from ordering.http.idempotency import idempotent
from ordering.http.observe import observe_requests
from ordering.http.problems import register_problem_handlers
from ordering.http.ratelimit import limiter_for
from ordering.http.requests import ServiceHolder, register_request_hooks
from ordering.logs import configure_logging
from ordering.scheduling import start_embedded_scheduler
from ordering.settings import Settings, load_settings
from ordering.tokens import load_keys

MAX_BODY_BYTES = 1_000_000


def create_app(
    settings: Settings | None = None,
    build: Callable[[Settings], Services] = build_services,
) -> Flask:
    """Builds the Flask app; the application and read model are built on first use."""
    settings = settings or load_settings()
    app = Flask("ordering")
    app.config.update(
        API_TITLE="Order service",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=health_views.SWAGGER_UI_URL,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    configure_logging("web")
    observe_requests(app)  # first: its answer hook runs last and sees the final status
    app.extensions["ordering"] = ServiceHolder(settings, build, load_keys(settings))
    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
        "security": [{"bearer": []}]})
    openapi.install(api)  # before the blueprints: their schemas are described as they register
    api.register_blueprint(orders.blp)
    api.register_blueprint(sales.blp)
    api.register_blueprint(after_sales.blp)
    api.register_blueprint(refunds.blp)
    api.register_blueprint(history.blp)
    api.register_blueprint(feed.blp)
    api.register_blueprint(ticketing.blp)
    app.register_blueprint(health_views.health)
    app.register_blueprint(metrics_views.metrics)
    for endpoint, view in list(app.view_functions.items()):
        app.view_functions[endpoint] = idempotent(conditional(view))  # the ETag is part of a kept answer
    register_request_hooks(app, limiter_for(settings))
    register_problem_handlers(app)
    allow_cross_origin(app, settings.cors_origins)
    holder = app.extensions["ordering"]
    if settings.read_model_follower:
        _follow_once_serving(app, holder, settings)
    if settings.embedded_scheduler:
        app.extensions["ordering-scheduler"] = start_embedded_scheduler(holder.services, settings)
        app.extensions["ordering-followers"] = start_followers(holder.services, settings)
    return app


def _follow_once_serving(app: Flask, holder: ServiceHolder, settings: Settings) -> None:
    """The read model's follower starts with the first request a process serves, so a CLI
    command (which builds the app too) never runs one."""
    starting = threading.Lock()

    def start() -> None:
        if "ordering-read-model" in app.extensions:
            return
        with starting:
            if "ordering-read-model" not in app.extensions:
                app.extensions["ordering-read-model"] = start_read_model_follower(holder.services, settings)

    app.before_request(start)

