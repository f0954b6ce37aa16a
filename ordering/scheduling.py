"""Expiry: find orders whose ``expireAt`` has passed and issue the idempotent expire command.

Due orders come from the read model (indexed on ``expire_at``), never from loading every order.
The scheduler wakes when the next order falls due (``ExpiryTimer``), at the latest every
``ORDER_EXPIRY_INTERVAL_SECONDS``, and sooner when an order due earlier is saved (this
process's saves; on PostgreSQL every process's, through LISTEN). Orders due within
``ORDER_EXPIRY_PRELOAD_SECONDS`` are read ahead, so when they fall due only their events are
made and saved; one that changed meanwhile fails the save's version check and is read again.
Each sweep re-reads the due orders, so orders that fell due while no scheduler ran are found on
the next one. Several schedulers may run: on PostgreSQL one leads at a time (a session advisory
lock on its own connection; a crashed leader's lock goes with its connection); and even two
sweeping at once expire an order only once, because ``expire`` re-checks the order and the
event store refuses the second write of the same version.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from uuid import uuid4

import prometheus_client
import psycopg
from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from psycopg import sql

from ordering import metrics
from ordering.bootstrap import Services, build_services
from ordering.domain.errors import DomainError
from ordering.domain.order import Order
from ordering.domain.policy import utcnow
from ordering.settings import Settings
from ordering.store import UNAVAILABLE_ERRORS
from projections.orders import micros
from projections.schema import orders_table

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
EXPIRY_DUTY = "the expiry sweeps"
LOGGED_IDS = 100  # a sweep's line names at most this many orders; each expiry logs its own line
JOB_ID = "expire-orders"
RECHECK_SECONDS = 0.25  # after another process saved: look again at most this often
PRELOAD_LIMIT = 20_000  # orders read ahead at most
READ_SECONDS = 0.002  # reading one order ahead, until measured
FOLLOWER_GRACE_SECONDS = 1.0  # the read model's follower (in the web processes) to reach a sweep's head
UPCOMING_ROWS = 50  # the next due instant is the earliest of this many rows (and the locked ones)
# The timer's looks at the read model: each reads an index (``_due_soonest``, ``_locked``), so a
# look costs the same beside a million waiting orders (``tests/integration/test_expiry_plans.py``).
WAITING_ORDERS = ("SELECT expire_at, locked, locked_at FROM {table} WHERE has_unconfirmed = 1 "
                  "AND expire_at > ? ORDER BY expire_at, id LIMIT ?")
OLDEST_LIVE_LOCK = ("SELECT MIN(locked_at) FROM {table} WHERE has_unconfirmed = 1 AND locked = 1 "
                    "AND expire_at <= ? AND locked_at > ?")
UPCOMING_ORDERS = ("SELECT id FROM {table} WHERE has_unconfirmed = 1 AND expire_at > ? "
                   "AND expire_at <= ? ORDER BY expire_at, id LIMIT ?")


@dataclass(frozen=True)
class SweepReport:
    due: int
    expired: int
    order_ids: tuple[str, ...] = field(default=(), compare=False)  # the due orders it looked at
    correlation_id: str | None = field(default=None, compare=False)


def sweep(services: Services, now: datetime, batch: int = SWEEP_BATCH,
          preloaded: dict[str, Order] | None = None, follower_grace: float = 0.0) -> SweepReport:
    """Expire every order due at ``now``, a batch per transaction, once the read model holds
    every event stored before (``follower_grace``: how long its follower in another process
    may take, before this one projects the rest itself; racing it would do its work twice). A
    read model that cannot catch up (it parks what it cannot apply) does not stop the orders it
    can still find. ``preloaded``: orders read ahead; those used are taken out of it."""
    try:
        services.read_model.settle(follower_grace)
    except Exception as error:
        log.warning("read model catch-up failed before the sweep: %s: %s", type(error).__name__, error)
    lock_deadline = now - services.application.policy.lock_timeout
    correlation_id = f"expiry-{uuid4()}"
    preloaded = {} if preloaded is None else preloaded
    seen: set[str] = set()
    expired = 0
    while True:
        due = [code for code in services.read_model.due_orders(now, lock_deadline, batch + len(seen))
               if code not in seen]
        if not due:
            return SweepReport(len(seen), expired, tuple(sorted(seen)), correlation_id)
        seen.update(due)
        loaded = {code: order for code in due if (order := preloaded.pop(code, None)) is not None}
        expired += _expire(services, due, now, correlation_id, loaded)


def _expire(services: Services, codes: list[str], now: datetime, correlation_id: str,
            loaded: dict[str, Order]) -> int:
    try:
        return services.application.expire_orders(codes, now, correlation_id, loaded)
    except DomainError as error:  # e.g. one kept changing under us: the next sweep tries it again
        log.warning("%d orders not expired this sweep: %s", len(codes), error.detail)
        return 0


def _instant(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, UTC)


def next_due(services: Services, now: datetime) -> datetime | None:
    """When the next order not yet due at ``now`` falls due (the read model's view): its
    ``expireAt``, or for a locked one the later time its lock times out; None: none waits."""
    read_model, timeout = services.read_model, services.application.policy.lock_timeout
    table = orders_table(read_model.projector.active_generation())
    with read_model.database.transaction() as cursor:
        cursor.execute(WAITING_ORDERS.format(table=table), (micros(now), UPCOMING_ROWS))
        rows = cursor.fetchall()
        cursor.execute(OLDEST_LIVE_LOCK.format(table=table), (micros(now), micros(now - timeout)))
        oldest_lock = cursor.fetchone()[0]
    instants = [max(_instant(e), _instant(at) + timeout) if locked and at else _instant(e)
                for e, locked, at in rows]
    if oldest_lock is not None:
        instants.append(_instant(oldest_lock) + timeout)
    return min(instants, default=None)


def upcoming_orders(services: Services, after: datetime, until: datetime, limit: int) -> list[str]:
    """Orders due after ``after`` and by ``until``, soonest first."""
    table = orders_table(services.read_model.projector.active_generation())
    with services.read_model.database.transaction() as cursor:
        cursor.execute(UPCOMING_ORDERS.format(table=table), (micros(after), micros(until), limit))
        return [row[0] for row in cursor.fetchall()]


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
                    clock: Callable[[], datetime], preloaded: dict[str, Order] | None = None,
                    purge: bool = True, follower_grace: float = 0.0) -> SweepReport | None:
    """Sweep when this process leads, else do nothing this turn (None, as when the database
    is away); ``purge``: forget idempotency keys past their time too."""
    leads = leadership.acquire()
    metrics.LEADER.set(1 if leads else 0)
    if not leads:
        return None  # a follower stays silent: only the leader logs its sweeps
    try:
        report = sweep(services(), clock(), preloaded=preloaded, follower_grace=follower_grace)
    except UNAVAILABLE_ERRORS as error:
        log.warning("expiry sweep skipped, the database is unavailable: %s", error)
        return None
    metrics.SWEEPS.inc()
    metrics.EXPIRED.inc(report.expired)
    log.log(logging.INFO if report.due else logging.DEBUG,
            "expiry sweep: expired %d of %d due orders", report.expired, report.due,
            extra={"due": report.due, "expired": report.expired,
                   "orderIds": list(report.order_ids[:LOGGED_IDS]), "correlationId": report.correlation_id})
    if purge:
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


class ExpiryTimer:
    """Runs the expiry job of an APScheduler scheduler when the next order falls due: after
    each turn the job is moved to that instant (at the latest ``ORDER_EXPIRY_INTERVAL_SECONDS``
    on), and earlier by a save of an order due sooner (``saved``) or, on PostgreSQL, by any
    process's save (``news``). Orders due within ``ORDER_EXPIRY_PRELOAD_SECONDS`` are read ahead."""

    def __init__(self, scheduler: BaseScheduler, services: Callable[[], Services],
                 settings: Settings, clock: Callable[[], datetime]) -> None:
        self.scheduler, self.clock = scheduler, clock
        self.leadership = Leadership(settings)
        self.idle = timedelta(seconds=settings.expiry_interval_seconds)
        self.preload = timedelta(seconds=settings.expiry_preload_seconds)
        self.follower_grace = FOLLOWER_GRACE_SECONDS if settings.read_model_follower else 0.0
        self.preloaded: dict[str, Order] = {}
        self.planned: datetime | None = None  # when the job runs next
        self.stopped = threading.Event()
        self._build: Callable[[], Services] = services
        self._listened: Services | None = None
        self._guard = threading.Lock()
        self._running = False
        self._again: datetime | None = None  # asked for while a turn ran
        self._purged, self._leads = -float("inf"), False
        self._per_order = READ_SECONDS

    def services(self) -> Services:
        """The services, their saves told to ``saved`` (once built)."""
        built = self._build()
        if built is not self._listened:
            built.application.after_save.append(self.saved)
            self._listened = built
        return built

    def run(self) -> None:
        """The scheduled job: one turn, then the job is moved to the next turn's instant."""
        if self.stopped.is_set():
            return
        with self._guard:
            self._running, self._again = True, None
            self._move(self.clock() + timedelta(days=1))  # never a second run meanwhile
        wake = self.clock() + self.idle
        try:
            wake = self._turn()
        finally:
            with self._guard:
                self._running = False
                self.planned = min(wake, self._again or wake)
                self._move(self.planned)

    def _turn(self) -> datetime:
        now = self.clock()
        purge = time.monotonic() - self._purged >= self.idle.total_seconds()
        report = sweep_if_leader(self.services, self.leadership, lambda: now, self.preloaded, purge,
                                 self.follower_grace)
        self._purged = time.monotonic() if purge else self._purged
        self._leads = report is not None
        if report is None:
            self.preloaded.clear()
            return self.clock() + self.idle
        return self._plan(now)

    def _plan(self, swept_at: datetime) -> datetime:
        """Read ahead what falls due soon; the instant of the next turn: when the next order
        falls due, or earlier, in time to read ahead the orders due with it."""
        latest = self.clock() + self.idle
        try:
            services = self.services()
            upcoming = next_due(services, swept_at)
            if upcoming is None:
                return latest
            codes = upcoming_orders(services, swept_at, upcoming + self.preload, PRELOAD_LIMIT)
            reading = timedelta(seconds=2 * self._per_order * len(codes))
            start_reading = upcoming - max(self.preload, reading)
            if self.clock() < start_reading:
                return min(start_reading, latest)
            self._read_ahead(services, codes, upcoming)
        except Exception as error:  # the database is away, or a bug: look again later
            log.warning("expiry planning failed: %s: %s", type(error).__name__, error)
            return latest
        return min(upcoming, latest)

    def _read_ahead(self, services: Services, codes: list[str], stop_at: datetime) -> None:
        """Load these orders (soonest due first) until ``stop_at``, when the sweep goes first."""
        wanted = set(codes)
        for code in list(self.preloaded):
            if code not in wanted:  # confirmed meanwhile, or its expireAt moved
                self.preloaded.pop(code, None)
        started, read = time.monotonic(), 0
        for code in codes:
            if self.clock() >= stop_at:
                break
            if code not in self.preloaded:
                with contextlib.suppress(DomainError):
                    self.preloaded[code] = services.application.get_order(code, None)
                read += 1
        if read:  # how long reading one takes here, to start in time next time
            self._per_order = (time.monotonic() - started) / read

    def saved(self, saved: Sequence[Any]) -> None:
        """After a save in this process: forget what was read ahead of a saved order; one
        due sooner than planned moves the job to its ``expireAt``."""
        due = []
        for obj in saved:
            if isinstance(obj, Order):
                self.preloaded.pop(obj.code, None)
                if obj.has_unconfirmed_changes:
                    due.append(obj.expire_at)
        if due:
            self.wake(min(due))

    def news(self) -> None:
        """Another process saved (PostgreSQL): the leader looks again soon."""
        if self._leads:
            self.wake(self.clock() + timedelta(seconds=RECHECK_SECONDS))

    def wake(self, at: datetime) -> None:
        """Run the job at ``at`` if that is sooner than planned."""
        with self._guard:
            if self._running:
                self._again = min(at, self._again or at)
            elif self.planned is None or at < self.planned:
                self.planned = at
                self._move(at)

    def _move(self, at: datetime) -> None:
        """Under ``_guard``. Once stopping, the job is left where it is: a scheduler shutting down
        holds its job store's lock while it waits for this job to end."""
        if self.stopped.is_set():
            return
        with contextlib.suppress(JobLookupError, SchedulerNotRunningError):
            self.scheduler.modify_job(JOB_ID, next_run_time=at)

    def stop(self) -> None:
        """Stop moving the job, listening and leading (before the scheduler shuts down)."""
        with self._guard:  # a move under way ends first; none starts after
            self.stopped.set()
        self.leadership.release()


def _listen_for_saves(timer: ExpiryTimer, settings: Settings) -> None:
    """PostgreSQL: the event store NOTIFYs on each insert; each one is news for the timer."""
    while not timer.stopped.is_set():
        try:
            channel = getattr(timer.services().application.recorder, "channel_name", None)
            if not channel:
                return
            with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5,
                                 application_name=f"{settings.application_name} expiry") as connection:
                connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                while not timer.stopped.is_set():
                    for _ in connection.notifies(timeout=1.0, stop_after=1):
                        timer.news()
        except Exception as error:  # the database is away: the timer still looks every interval
            log.warning("expiry: listening for saves failed: %s: %s", type(error).__name__, error)
            timer.stopped.wait(1.0)


def schedule_expiry(scheduler: BaseScheduler, services: Callable[[], Services], settings: Settings,
                    clock: Callable[[], datetime]) -> ExpiryTimer:
    """Add the expiry job to an APScheduler scheduler: one run at a time, at once (to catch up
    on whatever fell due meanwhile), then whenever the timer says."""
    timer = ExpiryTimer(scheduler, services, settings, clock)
    scheduler.add_job(timer.run, "interval", seconds=settings.expiry_interval_seconds, id=JOB_ID,
                      max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True,
                      next_run_time=utcnow())
    scheduler.add_listener(lambda _: timer.stopped.set(), EVENT_SCHEDULER_SHUTDOWN)  # the listener
    if settings.is_postgres:
        threading.Thread(target=_listen_for_saves, args=(timer, settings), name="expiry-listen",
                         daemon=True).start()
    return timer


class EmbeddedScheduler(BackgroundScheduler):
    """The expiry job on a background thread of the web process; shutting it down stops the
    timer first (``ExpiryTimer.stop``)."""

    timer: ExpiryTimer | None = None

    def shutdown(self, wait: bool = True) -> None:
        if self.timer is not None:
            self.timer.stop()
        super().shutdown(wait)


def start_embedded_scheduler(services: Callable[[], Services], settings: Settings) -> EmbeddedScheduler:
    """The embedded default: the same job on a background thread of the web process."""
    scheduler = EmbeddedScheduler(daemon=True)
    scheduler.timer = schedule_expiry(scheduler, services, settings, utcnow)
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
    timer = schedule_expiry(scheduler, built, settings, utcnow)
    if settings.scheduler_metrics_port:
        prometheus_client.start_http_server(settings.scheduler_metrics_port,
                                            registry=metrics.process_registry())
        log.info("metrics on :%d/metrics", settings.scheduler_metrics_port)

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("expiring orders as they fall due, looking at least every %ss",
             settings.expiry_interval_seconds)
    try:
        scheduler.start()
    finally:
        timer.stop()
        if services is not None:
            services.close()
