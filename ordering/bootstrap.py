"""One place that wires the service for the web, the CLI and the scheduler alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ordering.application import OrderingApplication
from ordering.domain.policy import utcnow
from ordering.settings import Settings
from projections import ReadModel
from projections.db import ReadModelDatabase
from projections.ticket_groups import create_ticket_group_tables


@dataclass
class Services:
    application: OrderingApplication
    read_model: ReadModel

    def close(self) -> None:
        self.read_model.close()
        self.application.close()


def build_services(settings: Settings, clock: Callable[[], datetime] = utcnow) -> Services:
    """Opens connections at once: call it in each process after any fork, never at import."""
    _ensure_instance_dir(settings)
    application = OrderingApplication(env=settings.eventsourcing_env(), policy=settings.policy,
                                      clock=clock)
    read_model = ReadModel(application, ReadModelDatabase(settings))
    application.after_save.append(read_model.saved)  # wakes the follower; projects nothing
    return Services(application, read_model)


def create_schema(settings: Settings) -> None:
    """Create every table once, before the service processes start (they start with it off)."""
    _ensure_instance_dir(settings)
    application = OrderingApplication(env=settings.eventsourcing_env(create_table=True))
    read_model = ReadModel(application, ReadModelDatabase(settings))
    try:
        read_model.create_tables()
        create_ticket_group_tables(application)
    finally:
        read_model.close()
        application.close()


def _ensure_instance_dir(settings: Settings) -> None:
    if not settings.is_postgres:
        settings.instance_dir.mkdir(parents=True, exist_ok=True)
