"""The ticket-group follower for real, on both backends: two at once, a thread woken by saves,
leadership among processes, and ``python scheduler.py`` (which runs it) killed mid-run and started
again. Afterwards every confirmed active line has exactly one live group, no group was made twice,
and a replay of the whole order log from scratch makes exactly what is stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from ordering.application import OrderingApplication
from ordering.application.ticketing import TicketGroups
from ordering.bootstrap import Services, build_services
from ordering.demo_catalogue import DEMO_CAPACITY, TRAVELLERS, TRONDHEIM_OFFER, demo_offers
from ordering.domain.reserving import OfferConfiguration
from ordering.domain.ticketing import CANCELLED, TicketDistributionGroup, ticketed
from ordering.following import FollowerLeadership, start_followers
from ordering.http.sales import load_offers
from ordering.settings import Settings
from projections.follower import Follower
from projections.ticket_groups import TicketGroupProjector, replay, status, verify
from tests.builders import context_of
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
CTX = context_of(1)


def stocked(services: Services) -> Services:
    services.application.publish_offers(load_offers(demo_offers(services.application.clock())))
    for journey, seats in DEMO_CAPACITY.items():
        services.application.set_capacity(journey, seats)
    return services


@pytest.fixture
def shop(services: Services) -> Services:
    return stocked(services)


@pytest.fixture
def real_time_shop(settings: Settings) -> Iterator[Services]:
    """On the real clock, as the scheduler process beside it is (its expiry sweeps too)."""
    built = stocked(build_services(settings))
    yield built
    built.close()


def sell(app: OrderingApplication, travellers: int = 2, offer_id: str = TRONDHEIM_OFFER) -> str:
    """A confirmed order of ``travellers`` lines."""
    configuration = [OfferConfiguration(offer_id, TRAVELLERS[:travellers])]
    code = app.reserve_offers(CTX, None, configuration).order.code
    order = app.get_order(code, 1)
    payment = app.create_payment(CTX, code, order.order_version, order.balance, "VISA")
    app.capture_payment(payment.payment_id, CTX)
    return code


def follower(app: OrderingApplication, batch_size: int = 7) -> Follower:
    return Follower(app.recorder, TicketGroupProjector(app), batch_size=batch_size)


def group_created_count(app: OrderingApplication) -> int:
    topic = f"{TicketDistributionGroup.__module__}:TicketDistributionGroup.GroupCreated"
    return len(app.recorder.select_notifications(start=None, limit=1_000_000, topics=[topic]))


def assert_exactly_one_live_group_per_line(app: OrderingApplication, codes: list[str]) -> None:
    made = 0
    for code in codes:
        order = app.get_order(code, 1)
        groups = TicketGroups(app).of_order(code, 1)
        live = Counter(g.order_line_id for g in groups if g.status != CANCELLED)
        assert live == Counter(line.id for line in order.lines if ticketed(line)), code
        made += len(groups)
    assert group_created_count(app) == made  # none made twice
    problems: list[str] = []
    assert verify(app, problems.append) == 0, problems


def caught_up(app: OrderingApplication) -> bool:
    """Nothing left to follow but (perhaps) the follower's own events."""
    position = TicketGroupProjector(app).position()
    rest = app.recorder.select_notifications(start=position, limit=10_000, inclusive_of_start=False)
    return not any(n.topic.startswith("ordering.domain.order:") for n in rest)


def test_two_followers_at_once_make_every_group_once(shop: Services) -> None:
    app = shop.application
    codes = [sell(app) for _ in range(6)]
    followers = [follower(app), follower(app)]
    stop = threading.Event()
    errors: list[BaseException] = []

    def keep_following(one: Follower) -> None:
        try:
            while not stop.is_set():
                one.catch_up()
        except BaseException as error:
            errors.append(error)
            raise

    threads = [threading.Thread(target=keep_following, args=(one,)) for one in followers]
    for thread in threads:
        thread.start()
    try:
        codes += [sell(app) for _ in range(14)]
    finally:
        time.sleep(0.2)
        stop.set()
        for thread in threads:
            thread.join(30)
    assert errors == []
    followers[0].catch_up()
    assert caught_up(app)
    assert_exactly_one_live_group_per_line(app, codes)


def test_a_batch_stored_by_another_follower_first_is_refused_whole(shop: Services) -> None:
    app = shop.application
    codes = [sell(app) for _ in range(2)]
    batch = app.recorder.select_notifications(start=0, limit=1000, inclusive_of_start=False)
    first, second = TicketGroupProjector(app), TicketGroupProjector(app)
    first.process(batch)
    head = app.recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        second.process(batch)
    assert app.recorder.max_notification_id() == head  # nothing of the second was stored
    assert first.position() == batch[-1].id
    assert_exactly_one_live_group_per_line(app, codes)


def test_replay_from_scratch_makes_what_the_live_follower_stored(shop: Services) -> None:
    app = shop.application
    live = follower(app, batch_size=3)
    codes = []
    for n in range(5):
        codes.append(sell(app, travellers=1 + n % 2))
        live.catch_up()  # batches cut between a sale's events
    live.catch_up()
    replayed = replay(app)
    assert {type(a).__name__ for a in replayed.values()} == {"TicketDistributionGroup", "OrderTicketGroups"}
    assert len([a for a in replayed.values() if isinstance(a, TicketDistributionGroup)]) == 1 + 2 + 1 + 2 + 1
    assert_exactly_one_live_group_per_line(app, codes)
    assert status(app)["position"] > 0


def test_a_follower_thread_woken_by_saves_makes_groups_within_a_second(shop: Services,
                                                                       settings: Settings) -> None:
    thread = start_followers(lambda: shop, settings)
    try:
        assert wait_for(lambda: thread.follower is not None, 10)
        code = sell(shop.application)
        started = time.monotonic()
        assert wait_for(lambda: len(TicketGroups(shop.application).of_order(code, 1)) == 2, 5)
        assert time.monotonic() - started < 1.5
    finally:
        thread.stop()


@pytest.mark.postgres
def test_one_process_leads_the_follower_on_postgres(postgres_settings: Settings) -> None:
    first, second = (FollowerLeadership(postgres_settings, "ticket-groups") for _ in range(2))
    try:
        assert first.acquire() and not second.acquire()
        first.release()
        assert second.acquire()
    finally:
        first.release()
        second.release()


def start_scheduler(settings: Settings, tmp_path: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "POSTGRES_SCHEMA": settings.postgres_schema or "", "ORDERS_INSTANCE_DIR": str(tmp_path),
           "ORDER_EXPIRY_INTERVAL_SECONDS": "30", "POSTGRES_POOL_SIZE": "2",
           "TICKET_GROUPS_BATCH_SIZE": "5", "TICKET_GROUPS_POLL_SECONDS": "0.05"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "scheduler.py"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)


def test_the_scheduler_process_killed_mid_run_resumes_exactly_where_it_stopped(
        real_time_shop: Services, settings: Settings, tmp_path: Path,
        processes: list[subprocess.Popen[bytes]]) -> None:
    app = real_time_shop.application
    codes = [sell(app, travellers=1 + n % 2) for n in range(60)]
    log = tmp_path / "scheduler.log"
    processes.append(start_scheduler(settings, tmp_path, log))
    assert wait_for(lambda: TicketGroupProjector(app).position() > 0, 30), log.read_text()
    processes[0].send_signal(signal.SIGKILL)  # in the middle of following 60 orders, 5 at a time
    processes[0].wait(timeout=10)
    position = TicketGroupProjector(app).position()
    assert 0 < position < (app.recorder.max_notification_id() or 0)
    codes += [sell(app) for _ in range(5)]  # sold while nobody follows
    processes.append(start_scheduler(settings, tmp_path, log))
    sold_meanwhile: list[str] = []
    more = threading.Thread(target=lambda: sold_meanwhile.extend(sell(app) for _ in range(10)))
    more.start()
    more.join(60)
    assert len(sold_meanwhile) == 10
    codes += sold_meanwhile
    assert wait_for(lambda: caught_up(app), 60), log.read_text()
    assert_exactly_one_live_group_per_line(app, codes)
