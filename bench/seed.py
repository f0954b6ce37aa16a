"""Seeding: orders built in memory with the domain's own methods and saved in big batches.

The read model's after-save listener is never attached here. Orders of the first phase get
their read-model rows from a real rebuild (measured); orders of the second phase get theirs
written directly, computed from the in-memory aggregates by the projection's own ``order_row``
and ``order_terms`` (the projector would write exactly these), so a million orders fit the run.
"""

from __future__ import annotations

import multiprocessing
import random
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.offers import TRAVELLERS, OfferPool, journey_id
from bench.rows import RowWriter
from ordering.application import OrderingApplication
from ordering.domain.order import Order
from ordering.domain.order_ids import ORDER_CODE_ALPHABET, ORDER_CODE_LENGTH
from ordering.domain.reserving import OfferConfiguration, plan_lines
from ordering.domain.values import PaymentRef
from ordering.settings import Settings

SPAN = timedelta(days=365)
TRAINS = 20
LARGE_ORGANISATION = 1
DRAFT_SHARE = 0.2
CHUNK = 2000  # orders per task; each task has its own two-letter code prefix
SAVE_BATCH = 200  # aggregates per save: far larger saves can stall psycopg's pipeline (see report)
TASK_TIMEOUT = 600.0


@dataclass(frozen=True)
class SeedPlan:
    """Where seeded orders fall, so the searches can aim at known data."""

    count: int
    now: datetime
    organisations: int = 10
    large_share: float = 0.7

    def created_at(self, index: int) -> datetime:
        return self.now - SPAN + SPAN * (index / self.count) - timedelta(hours=1)

    def organisation(self, rng: random.Random) -> int:
        if rng.random() < self.large_share:
            return LARGE_ORGANISATION
        return rng.randrange(2, self.organisations + 1)

    def journey_day(self, index: int) -> datetime:
        created = self.created_at(index) + timedelta(days=index % 30)
        return created.replace(hour=0, minute=0, second=0, microsecond=0)

    def day_at(self, fraction: float) -> datetime:
        day = self.now - SPAN + SPAN * fraction
        return day.replace(hour=0, minute=0, second=0, microsecond=0)

    def journeys_on(self, day: datetime, n: int) -> list[str]:
        return [journey_id(train, day) for train in range(3, 3 + n)]


class Codes:
    """Order codes unique across tasks: a two-letter prefix per task, no repeats within one."""

    def __init__(self, task: int) -> None:
        alphabet = ORDER_CODE_ALPHABET
        self.prefix = alphabet[task // len(alphabet) % len(alphabet)] + alphabet[task % len(alphabet)]
        self.used: set[str] = set()

    def new(self) -> str:
        while True:
            code = self.prefix + "".join(secrets.choice(ORDER_CODE_ALPHABET)
                                         for _ in range(ORDER_CODE_LENGTH - 2))
            if code not in self.used:
                self.used.add(code)
                return code


def seeded_order(plan: SeedPlan, pool: OfferPool, rng: random.Random, index: int, codes: Codes) -> Order:
    """A realistic order: lines with a leg each; 80 % paid and confirmed, 20 % drafts not yet due."""
    created = plan.created_at(index) + timedelta(seconds=rng.random())
    organisation = plan.organisation(rng)
    ctx = {"correlationId": f"seed-{index}", "clientName": "bench-seed", "organisationId": organisation,
           "subject": "bench-seed", "pos": "Entur-APP",
           "distributionChannelId": "ENT:DistributionChannel:Web"}
    order = Order(code=codes.new(), organisation_id=organisation, created_by="bench-seed", pos="Entur-APP",
                  distribution_channel_id="ENT:DistributionChannel:Web", currency="NOK", created_at=created,
                  expire_at=created + timedelta(minutes=20), expire_at_set_by_client=False,
                  contact_info=None, external_reference=f"seed-{index}", context=ctx)
    offer = pool.offer(rng.randrange(TRAINS), plan.journey_day(index), compulsory=index % 3 == 0)
    travellers = TRAVELLERS[:1 + (rng.random() < 0.3) + (rng.random() < 0.1)]
    additions = plan_lines(offer, OfferConfiguration(offer.offer_id, travellers), created)
    draft = rng.random() < DRAFT_SHARE
    expire_at = plan.now + timedelta(days=150) if draft else created + timedelta(minutes=20)
    order.add_lines(additions, created, expire_at, ctx)
    if not draft:
        paid = created + timedelta(minutes=1)
        order.register_capture(PaymentRef(str(uuid.uuid4()), "CAPTURED", order.balance, "NOK", "VISA", paid),
                               paid, ctx)
    return order


@dataclass(frozen=True)
class Task:
    settings: Settings
    plan: SeedPlan
    start: int
    stop: int
    write_rows: bool


@dataclass(frozen=True)
class SeedReport:
    orders: int
    events: int
    seconds: float

    @property
    def orders_per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


_application: OrderingApplication | None = None
_rows: RowWriter | None = None
_pool: OfferPool | None = None


def _worker_state(task: Task) -> tuple[OrderingApplication, OfferPool, RowWriter | None]:
    global _application, _rows, _pool
    if _application is None:
        _application = OrderingApplication(env=task.settings.eventsourcing_env())
        _pool = OfferPool(TRAINS, task.plan.now + timedelta(days=400))
    if task.write_rows and _rows is None:
        _rows = RowWriter(task.settings)
    assert _pool is not None
    return _application, _pool, _rows if task.write_rows else None


def run_task(task: Task) -> tuple[int, int]:
    """In a worker process: build and save one chunk of orders; returns (orders, events)."""
    application, pool, rows = _worker_state(task)
    rng = random.Random(task.start)
    codes = Codes(task.start // CHUNK)
    events = 0
    for start in range(task.start, task.stop, SAVE_BATCH):
        orders = [seeded_order(task.plan, pool, rng, i, codes)
                  for i in range(start, min(start + SAVE_BATCH, task.stop))]
        events += len(application.save(*orders))
        if rows is not None:
            rows.write(orders)
    return task.stop - task.start, events


def _tasks(settings: Settings, plan: SeedPlan, start: int, stop: int, write_rows: bool) -> Iterator[Task]:
    for first in range(start, stop, CHUNK):
        yield Task(settings, plan, first, min(first + CHUNK, stop), write_rows)


def seed(settings: Settings, plan: SeedPlan, start: int, stop: int, write_rows: bool, workers: int,
         progress: Callable[[int, int], None] | None = None) -> SeedReport:
    """Orders ``start`` to ``stop`` of the plan, saved by ``workers`` processes (spawned, so no
    connection pool crosses a fork)."""
    assert start % CHUNK == 0, "tasks are aligned on chunks so their code prefixes never repeat"
    started, orders, events = time.monotonic(), 0, 0
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        results = pool.imap_unordered(run_task, _tasks(settings, plan, start, stop, write_rows))
        for _ in range(0, stop - start, CHUNK):
            done, saved = results.next(timeout=TASK_TIMEOUT)
            orders, events = orders + done, events + saved
            if progress:
                progress(orders, stop - start)
    return SeedReport(orders, events, time.monotonic() - started)
