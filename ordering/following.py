"""The followers of the order log in the service's processes: the read model and the ticket
distribution groups.

The read model's follower runs on a thread of every web process and of the scheduler's; the
ticket groups' on the scheduler's process (``python scheduler.py``, ``flask --app app
scheduler``) and, embedded, the web process (``make run``). On PostgreSQL one process leads
each follower at a time, through a session advisory lock of its own (the scheduler's
``Leadership`` with another key); the others stand by and take over within a second of the
leader's session ending, and every save anywhere wakes the leader at once (LISTEN on the
channel the event store NOTIFYs on each insert). On SQLite the processes of one host all follow;
the tracked position, written under a lock, lets only one of them project each batch.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from collections.abc import Callable

import psycopg
from psycopg import sql

from ordering.bootstrap import Services, build_services
from ordering.scheduling import Leadership
from ordering.settings import Settings
from projections import ReadModelFollowing
from projections.follower import BATCH_SIZE, POLL_SECONDS, STANDBY_SECONDS, Follower, FollowerThread
from projections.ticket_groups import TicketGroupProjector

log = logging.getLogger(__name__)


class FollowerLeadership(Leadership):
    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings)
        self.key = zlib.crc32(f"follower:{name}:{settings.postgres_schema or 'public'}".encode())
        self.duty = f"the {name} follower"


def ticket_group_follower(services: Services, settings: Settings) -> Follower:
    projector = TicketGroupProjector(services.application)
    return Follower(services.application.recorder, projector, FollowerLeadership(settings, projector.name),
                    batch_size=int(os.environ.get("TICKET_GROUPS_BATCH_SIZE", BATCH_SIZE)),
                    poll_seconds=float(os.environ.get("TICKET_GROUPS_POLL_SECONDS", POLL_SECONDS)))


def read_model_follower(services: Services, settings: Settings) -> Follower:
    following = ReadModelFollowing(services.read_model)
    return Follower(services.application.recorder, following, FollowerLeadership(settings, following.name),
                    batch_size=int(os.environ.get("READ_MODEL_BATCH_SIZE", BATCH_SIZE)),
                    poll_seconds=float(os.environ.get("READ_MODEL_POLL_SECONDS", 1.0)))


def start_read_model_follower(services: Callable[[], Services], settings: Settings) -> FollowerThread:
    """Project the read model on a daemon thread, woken by this process's saves and, on
    PostgreSQL, by every process's."""
    thread: FollowerThread

    def build() -> Follower:
        built = services()
        follower = read_model_follower(built, settings)
        built.read_model.on_saved.append(follower.wake)
        built.read_model.followed = True
        channel = getattr(built.application.recorder, "channel_name", None)
        if settings.is_postgres and channel:
            threading.Thread(target=_listen, args=(settings, channel, thread), name="read-model-listen",
                             daemon=True).start()
        return follower

    thread = FollowerThread("read-model", build)
    return thread.start()


def _listen(settings: Settings, channel: str, thread: FollowerThread) -> None:
    """Wake the follower on each NOTIFY the event store sends when events are inserted, while
    it leads: a stand-by's process does not hear every save of every process (each NOTIFY is
    delivered to every listening session, and woke a thread in each process)."""
    while not thread.stopped:
        if not thread.leading:
            thread.wait(STANDBY_SECONDS)
            continue
        try:
            with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5,
                                 application_name=f"{settings.application_name} listen") as connection:
                connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                while thread.leading and not thread.stopped:
                    for _ in connection.notifies(timeout=1.0):
                        thread.wake()
        except psycopg.Error as error:
            log.warning("listening for saves failed, polling meanwhile: %s", error)
            thread.wait(STANDBY_SECONDS)


def start_followers(services: Callable[[], Services], settings: Settings) -> FollowerThread:
    """Follow on a daemon thread with the process's services; woken by its own saves."""
    def build() -> Follower:
        built = services()
        follower = ticket_group_follower(built, settings)
        built.application.after_save.append(follower.wake)
        return follower

    return FollowerThread("ticket-groups", build).start()


def run_with_followers(settings: Settings, main: Callable[[], None]) -> None:
    """Run ``main`` (the scheduler) with the followers beside it, on services of their own."""
    own: list[Services] = []
    building = threading.Lock()

    def services() -> Services:
        with building:  # the followers' threads ask at once
            if not own:
                own.append(build_services(settings))
            return own[0]

    threads = [start_followers(services, settings), start_read_model_follower(services, settings)]
    try:
        main()
    finally:
        for thread in threads:
            thread.stop()
        for built in own:
            built.close()
