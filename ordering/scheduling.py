"""Expiry: find orders whose ``expireAt`` has passed and issue the idempotent expire command.

Due orders come from the read model (indexed on ``expire_at``), never from loading every order.
Each sweep re-reads them, so orders that fell due while no scheduler ran are found on the next
one. Several schedulers may run: on PostgreSQL one leads at a time (a session advisory lock on
its own connection; a crashed leader's lock goes with its connection); and even two sweeping at
once expire an order only once, because ``expire`` re-checks the order and the event store
refuses the second write of the same version.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from uuid import uuid4

import prometheus_client
import psycopg
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from ordering import metrics
from ordering.bootstrap import Services, build_services
from ordering.domain.errors import DomainError
from ordering.domain.policy import utcnow
from ordering.settings import Settings
from ordering.store import UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
EXPIRY_DUTY = "the expiry sweeps"
LOGGED_IDS = 100  # a sweep's line names at most this many orders; each expiry logs its own line


@dataclass(frozen=True)
class SweepReport:
    due: int
    expired: int
    order_ids: tuple[str, ...] = field(default=(), compare=False)  # the due orders it looked at
    correlation_id: str | None = field(default=None, compare=False)


def sweep(services: Services, now: datetime, batch: int = SWEEP_BATCH) -> SweepReport:
    """Expire every order due at ``now``, a batch per transaction. A read model that cannot
    catch up (it parks what it cannot apply) does not stop the orders it can still find."""
    try:
        services.read_model.catch_up()
    except Exception as error:
        log.warning("read model catch-up failed before the sweep: %s: %s", type(error).__name__, error)
    lock_deadline = now - services.application.policy.lock_timeout
    correlation_id = f"expiry-{uuid4()}"
    seen: set[str] = set()
    expired = 0
    while True:
        due = [code for code in services.read_model.due_orders(now, lock_deadline, batch + len(seen))
               if code not in seen]
        if not due:
            return SweepReport(len(seen), expired, tuple(sorted(seen)), correlation_id)
        seen.update(due)
        expired += _expire(services, due, now, correlation_id)


def _expire(services: Services, codes: list[str], now: datetime, correlation_id: str) -> int:
    try:
        return services.application.expire_orders(codes, now, correlation_id)
    except DomainError as error:  # e.g. one kept changing under us: the next sweep tries it again
        log.warning("%d orders not expired this sweep: %s", len(codes), error.detail)
        return 0


def leadership_key(settings: Settings) -> int:
    """The advisory lock the leading scheduler holds: one per database schema."""
    return zlib.crc32(f"order-expiry:{settings.postgres_schema or 'public'}".encode())


class Leadership:
    """At most one sweeping scheduler per database: a PostgreSQL session advisory lock."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = leadership_key(settings)
        self.duty = EXPIRY_DUTY  # what leading means, for the log
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._held = False

    def instance_name(self) -> str:
        """What the leader's connection calls itself: the process kind, the host and the pid
        (``/metrics`` names the leader by it)."""
        return f"{self.settings.application_name} {socket.gethostname()}:{os.getpid()}"[:63]

    def acquire(self) -> bool:
        """True while this process leads; never blocks (a follower just skips its turn)."""
        if not self.settings.is_postgres:  # the embedded SQLite service runs a single scheduler
            if not self._held:
                log.info("this process leads %s (SQLite: the only one)", self.duty,
                         extra={"leader": True, "duty": self.duty})
            self._held = True
            return True
        try:
            if self._connection is None or self._connection.closed:
                self._connection = psycopg.connect(self.settings.database_url, autocommit=True,
                                                   connect_timeout=5,
                                                   application_name=self.instance_name())
                self._held = False
            if self._held:
                self._connection.execute("SELECT 1")
            else:
                row = self._connection.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
                self._held = bool(row and row[0])
                if self._held:
                    log.info("this process now leads %s", self.duty,
                             extra={"leader": True, "duty": self.duty})
        except psycopg.Error as error:
            log.warning("scheduler leadership check failed: %s", error)
            self.release()
        return self._held

    def release(self) -> None:
        if self._held:
            log.info("this process no longer leads %s", self.duty, extra={"leader": False, "duty": self.duty})
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                if self._held:
                    self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
                self._connection.close()
        self._connection, self._held = None, False


def sweep_if_leader(services: Callable[[], Services], leadership: Leadership,
                    clock: Callable[[], datetime]) -> SweepReport | None:
    """The scheduled job: sweep when this process leads, else do nothing this turn."""
    leads = leadership.acquire()
    metrics.LEADER.set(1 if leads else 0)
    if not leads:
        return None  # a follower stays silent: only the leader logs its sweeps
    try:
        report = sweep(services(), clock())
    except UNAVAILABLE_ERRORS as error:
        log.warning("expiry sweep skipped, the database is unavailable: %s", error)
        return None
    metrics.SWEEPS.inc()
    metrics.EXPIRED.inc(report.expired)
    log.log(logging.INFO if report.due else logging.DEBUG,
            "expiry sweep: expired %d of %d due orders", report.expired, report.due,
            extra={"due": report.due, "expired": report.expired,
                   "orderIds": list(report.order_ids[:LOGGED_IDS]), "correlationId": report.correlation_id})
    forget_old_idempotency_keys(services(), clock())
    return report


def forget_old_idempotency_keys(services: Services, now: datetime) -> int:
    """Answers to idempotency keys are kept for their time (``IDEMPOTENCY_KEY_TTL_HOURS``)."""
    try:
        forgotten = services.application.idempotency.purge(now)
    except UNAVAILABLE_ERRORS as error:
        log.warning("idempotency keys not purged, the database is unavailable: %s", error)
        return 0
    if forgotten:
        log.info("forgot %d idempotency keys past their time", forgotten)
    return forgotten


def schedule_expiry(scheduler: BaseScheduler, services: Callable[[], Services], settings: Settings,
                    clock: Callable[[], datetime]) -> Leadership:
    """Add the sweep to an APScheduler scheduler: one run at a time, missed runs coalesced."""
    leadership = Leadership(settings)
    scheduler.add_job(sweep_if_leader, "interval", args=(services, leadership, clock),
                      seconds=settings.expiry_interval_seconds, id="expire-orders",
                      max_instances=1, coalesce=True, replace_existing=True,
                      next_run_time=utcnow())  # at start: catch up on whatever fell due meanwhile
    return leadership


def start_embedded_scheduler(services: Callable[[], Services], settings: Settings) -> BackgroundScheduler:
    """The embedded default: the same job on a background thread of the web process."""
    scheduler = BackgroundScheduler(daemon=True)
    schedule_expiry(scheduler, services, settings, utcnow)
    scheduler.start()
    return scheduler


def run_scheduler(settings: Settings) -> None:
    """The scheduler as a process of its own: blocks, sweeping every interval, until stopped."""
    settings = settings.for_process("scheduler")
    services: Services | None = None

    def built() -> Services:
        nonlocal services
        if services is None:
            services = build_services(settings)
        return services

    scheduler = BlockingScheduler()
    leadership = schedule_expiry(scheduler, built, settings, utcnow)
    if settings.scheduler_metrics_port:
        prometheus_client.start_http_server(settings.scheduler_metrics_port,
                                            registry=metrics.process_registry())
        log.info("metrics on :%d/metrics", settings.scheduler_metrics_port)

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("sweeping for due orders every %ss", settings.expiry_interval_seconds)
    try:
        scheduler.start()
    finally:
        leadership.release()
        if services is not None:
            services.close()
