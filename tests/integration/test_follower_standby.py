"""Read-model followers in several processes on PostgreSQL: only the leader listens for saves
(each NOTIFY goes to every listening session); when it goes, the one taking over listens and
projects what is saved next."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import psycopg

from ordering.bootstrap import Services, build_services
from ordering.following import start_read_model_follower
from ordering.settings import Settings
from projections.follower import FollowerThread
from tests.builders import context_of
from tests.support.waiting import wait_for


def listening(settings: Settings, kind: str) -> int:
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        row = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                 (f"order-service-{kind} listen",)).fetchone()
    return int(row[0]) if row else 0


def test_only_the_leading_follower_listens_and_the_next_leader_takes_over_listening(
    postgres_settings: Settings,
) -> None:
    kinds = [f"web-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    processes: list[tuple[Services, FollowerThread]] = []
    for kind in kinds:
        settings = replace(postgres_settings, process_kind=kind)
        built = build_services(settings)
        processes.append((built, start_read_model_follower(lambda built=built: built, settings)))
    try:
        assert wait_for(lambda: any(thread.leading for _, thread in processes), 10.0)
        leader = next(i for i, (_, thread) in enumerate(processes) if thread.leading)
        assert wait_for(lambda: listening(postgres_settings, kinds[leader]) == 1, 10.0)
        time.sleep(1.5)  # the stand-by has looked for leadership at least once meanwhile
        assert listening(postgres_settings, kinds[1 - leader]) == 0

        processes[leader][1].stop()
        processes[leader][0].close()  # its session ends: the advisory lock is free
        other_services, other = processes[1 - leader]
        assert wait_for(lambda: other.leading and listening(postgres_settings, kinds[1 - leader]) == 1, 10.0)
        writer = build_services(postgres_settings)
        try:
            writer.application.create_order(context_of(1))  # saved in another process: heard by NOTIFY
            head = writer.application.recorder.max_notification_id() or 0
        finally:
            writer.close()
        assert wait_for(lambda: other_services.read_model.position()[0] >= head, 3.0)
    finally:
        for built, thread in processes:
            thread.stop()
            built.close()
