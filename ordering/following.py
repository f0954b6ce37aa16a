"""The followers of the order log in the service's processes (today: ticket distribution groups).

They run on a thread of the scheduler's process (``python scheduler.py``, ``flask --app app
scheduler``) and, embedded, of the web process (``make run``). On PostgreSQL one process leads
each follower at a time, through a session advisory lock of its own (the scheduler's
``Leadership`` with another key); the others stand by and take over within a second of the
leader's session ending. On SQLite the one embedded process follows.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable

from ordering.bootstrap import Services, build_services
from ordering.scheduling import Leadership
from ordering.settings import Settings
from projections.follower import BATCH_SIZE, POLL_SECONDS, Follower, FollowerThread
from projections.ticket_groups import TicketGroupProjector


class FollowerLeadership(Leadership):
    def __init__(self, settings: Settings, name: str) -> None:
        super().__init__(settings)
        self.key = zlib.crc32(f"follower:{name}:{settings.postgres_schema or 'public'}".encode())


def ticket_group_follower(services: Services, settings: Settings) -> Follower:
    projector = TicketGroupProjector(services.application)
    return Follower(services.application.recorder, projector, FollowerLeadership(settings, projector.name),
                    batch_size=int(os.environ.get("TICKET_GROUPS_BATCH_SIZE", BATCH_SIZE)),
                    poll_seconds=float(os.environ.get("TICKET_GROUPS_POLL_SECONDS", POLL_SECONDS)))


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

    def services() -> Services:
        if not own:
            own.append(build_services(settings))
        return own[0]

    thread = start_followers(services, settings)
    try:
        main()
    finally:
        thread.stop()
        for built in own:
            built.close()
