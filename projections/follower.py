"""Following a notification log: one reusable loop for every downstream consequence.

A *consumer* owns its tracked position and writes its output and the new position in one
transaction (``process`` gets a batch and must store everything it leads to, or nothing). The
``Follower`` reads the log from that position in batches, hands each batch over, and does it
again until it is caught up; then it waits for a short poll (or a ``wake()`` from a process that
just saved) and looks again. Only the process that holds the *leadership* follows; the others
stand by and take over when the leader's session ends. Two followers that both run anyway
(no leadership on SQLite, or a leader taken over mid-batch) cannot both count a batch: the
consumer's position is written with a guard (the library's single-row tracking refuses a
position that is not ahead), and the loser's transaction rolls back.

The ticket distribution groups use it (``projections.ticket_groups``); the read model can.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, Notification

log = logging.getLogger(__name__)
BATCH_SIZE = 200
POLL_SECONDS = 0.1
STANDBY_SECONDS = 1.0
MAX_CONFLICTS = 5  # at one position, with no progress by anyone: the turn fails, tried again later


class Consumer(Protocol):
    name: str

    def position(self) -> int:
        """The last notification id whose consequences are stored (0: none yet)."""
        ...

    def process(self, notifications: Sequence[Notification]) -> None:
        """Store what the batch leads to and ``notifications[-1].id`` as the position, at once.
        Raises ``IntegrityError`` when another follower stored something of it first."""
        ...


class Leadership(Protocol):
    def acquire(self) -> bool: ...
    def release(self) -> None: ...


class AlwaysLeads:
    """For a single process (the embedded SQLite service, tests)."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class Follower:
    def __init__(self, log_recorder: ApplicationRecorder, consumer: Consumer,
                 leadership: Leadership | None = None, batch_size: int = BATCH_SIZE,
                 poll_seconds: float = POLL_SECONDS, standby_seconds: float = STANDBY_SECONDS) -> None:
        self.log_recorder = log_recorder
        self.consumer = consumer
        self.leadership = leadership or AlwaysLeads()
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.standby_seconds = standby_seconds
        self.leading = False  # as of the last look: a stand-by need not be woken by saves
        self._news = threading.Event()
        self._leadership_checked = 0.0

    def catch_up(self, until: int | None = None) -> int:
        """Process every batch after the consumer's position (up to ``until``); returns how
        many notifications this call processed."""
        processed, conflicts, last = 0, 0, -1
        while True:
            position = self.consumer.position()
            if position != last:
                conflicts, last = 0, position  # someone made progress: not stuck
            if until is not None and position >= until:
                return processed
            batch = self.log_recorder.select_notifications(start=position, limit=self.batch_size, stop=until,
                                                           inclusive_of_start=False)
            if not batch:
                return processed
            try:
                self.consumer.process(batch)
            except IntegrityError:
                conflicts += 1
                if conflicts > MAX_CONFLICTS:
                    raise
                log.info("%s: batch after %d was stored first by another writer", self.consumer.name,
                         position)
                continue
            processed += len(batch)
            if len(batch) < self.batch_size:
                return processed

    def head(self) -> int:
        return self.log_recorder.max_notification_id() or 0

    def lag(self) -> int:
        return max(0, self.head() - self.consumer.position())

    def wake(self, *_: object) -> None:
        """Something was saved: look now rather than at the next poll."""
        self._news.set()

    def run(self, stop: threading.Event) -> None:
        """Follow until ``stop`` is set: lead and catch up, or stand by."""
        try:
            while not stop.is_set():
                if not self._leads():
                    stop.wait(self.standby_seconds)
                    continue
                if not self._turn():
                    stop.wait(self.standby_seconds)
                    continue
                self._news.wait(self.poll_seconds)
                self._news.clear()
        finally:
            self.leading = False
            self.leadership.release()

    def _leads(self) -> bool:
        """Whether this follower leads, asked of the leadership at most once a stand-by period
        while it does (every turn asked it: a query per save, at every save). A leader whose
        session has ended meanwhile may follow for up to that long beside the next one: the
        consumer's guarded position lets only one of them store each batch."""
        now = time.monotonic()
        if not self.leading or now - self._leadership_checked >= self.standby_seconds:
            self.leading = self.leadership.acquire()
            self._leadership_checked = now
        return self.leading

    def _turn(self) -> bool:
        try:
            self.catch_up()
        except Exception as error:  # the database is away, or a bug: log, wait, try again
            log.warning("%s: follower turn failed: %s: %s", self.consumer.name, type(error).__name__, error)
            return False
        return True


class FollowerThread:
    """A follower on a daemon thread; ``build`` runs on that thread (it may need the database,
    and is tried again while it fails)."""

    def __init__(self, name: str, build: Callable[[], Follower],
                 retry_seconds: float = STANDBY_SECONDS) -> None:
        self.name = name
        self._build = build
        self._retry_seconds = retry_seconds
        self._stop = threading.Event()
        self.follower: Follower | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def leading(self) -> bool:
        return self.follower is not None and self.follower.leading

    def wait(self, seconds: float) -> None:
        """Up to ``seconds``, less if the thread is stopped meanwhile."""
        self._stop.wait(seconds)

    def start(self) -> FollowerThread:
        self._thread.start()
        return self

    def wake(self, *_: object) -> None:
        if self.follower is not None:
            self.follower.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set() and self.follower is None:
            try:
                self.follower = self._build()
            except Exception as error:
                log.warning("%s: cannot start yet: %s: %s", self.name, type(error).__name__, error)
                self._stop.wait(self._retry_seconds)
        if self.follower is not None:
            self.follower.run(self._stop)
