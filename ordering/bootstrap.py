"""One place that wires the application for the web, the CLI and the scheduler alike."""

from __future__ import annotations

from ordering.application import OrderingApplication
from ordering.settings import Settings


def build_application(settings: Settings) -> OrderingApplication:
    """Opens connections at once: call it in each process after any fork, never at import."""
    _ensure_instance_dir(settings)
    return OrderingApplication(env=settings.eventsourcing_env(), policy=settings.policy)


def create_schema(settings: Settings) -> None:
    """Create every table once, before the service processes start (they start with it off)."""
    _ensure_instance_dir(settings)
    application = OrderingApplication(env=settings.eventsourcing_env(create_table=True))
    application.close()


def _ensure_instance_dir(settings: Settings) -> None:
    if not settings.is_postgres:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
