"""Scenarios 3 and 4's data: a million seeded orders, a measured rebuild, a caught-up read model.

Phase 1 seeds orders until the log holds ``rebuild_events`` events and rebuilds the read model
from that whole history with ``projections.maintenance.rebuild`` (scenario 4). Phase 2 seeds the
rest with their rows written directly (see ``bench.rows``) and moves the position to the head.
The read model's tables are then vacuumed and analysed, as an operator does after a bulk load
(autovacuum is off on our machines), so searches count and page from the indexes alone.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from bench.baselines import notification_reads
from bench.config import Config
from bench.rows import analyze, mark_caught_up
from bench.seed import CHUNK, SeedPlan, SeedReport, seed
from ordering.bootstrap import Services
from ordering.settings import Settings
from projections import maintenance
from projections.orders import order_row, order_terms
from projections.schema import ORDER_COLUMNS, generation_tables, orders_table, terms_table

EVENTS_PER_ORDER = 4.0  # about: 80 % confirmed (4-6 events), 20 % drafts (2-4)
DECODE_SAMPLE = 300_000
CHECKED_ROWS = 200

Say = Callable[[str], None]


def _phase_one_orders(config: Config) -> int:
    wanted = int(config.rebuild_events / EVENTS_PER_ORDER * 1.03)
    return min(config.orders, -(-wanted // CHUNK) * CHUNK)


def build_search_data(settings: Settings, services: Services, config: Config, plan: SeedPlan,
                      say: Say) -> dict[str, Any]:
    workers = 2 if settings.is_postgres else 1  # SQLite has one writer at a time anyway
    head = 0
    first = _phase_one_orders(config)
    report = seed(settings, plan, 0, first, False, workers, _progress(say, "seed (events only)"))
    head = services.application.recorder.max_notification_id() or 0
    while head < config.rebuild_events and first < config.orders:
        more = seed(settings, plan, first, first + CHUNK, False, workers)
        first, head = first + CHUNK, services.application.recorder.max_notification_id() or 0
        report = SeedReport(report.orders + more.orders, report.events + more.events,
                            report.seconds + more.seconds)
    analyze(settings)
    say(f"seeded {report.orders:,} orders, {report.events:,} events in {report.seconds:.0f} s; rebuilding")
    last = [0.0]

    def progress(position: int, head: int) -> None:
        if time.monotonic() - last[0] > 30:
            last[0] = time.monotonic()
            say(f"  rebuild at {position:,} of {head:,}")

    rebuild = maintenance.rebuild(services.read_model, progress)
    say(f"rebuilt {rebuild.events:,} events in {rebuild.seconds:.0f} s ({rebuild.events_per_second:,.0f}/s)")
    decode = notification_reads(services.application, min(head, DECODE_SAMPLE))
    rest = seed(settings, plan, first, plan.count, True, workers, _progress(say, "seed (events + rows)"))
    head = mark_caught_up(settings, services.application, rest.events)
    caught_up = services.read_model.catch_up()
    services.read_model.database.vacuum_analyze(  # as after any bulk load
        generation_tables(services.read_model.projector.active_generation()))
    differences = check_rows(services, plan, first)
    say(f"seeded {rest.orders:,} more orders with rows in {rest.seconds:.0f} s; "
        f"{differences} differences in {CHECKED_ROWS} checked rows")
    return {"phase1": asdict(report) | {"orders_per_second": report.orders_per_second},
            "rebuild": {"events": rebuild.events, "seconds": rebuild.seconds,
                        "throughput": rebuild.events_per_second, "orders": report.orders},
            "decode": decode,
            "phase2": asdict(rest) | {"orders_per_second": rest.orders_per_second},
            "orders": report.orders + rest.orders, "events": head, "workers": workers,
            "caught_up_after": caught_up, "checked_rows": CHECKED_ROWS, "row_differences": differences}


def _progress(say: Say, label: str) -> Callable[[int, int], None]:
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 30 or done == total:
            last[0] = time.monotonic()
            say(f"  {label}: {done:,} of {total:,} orders")
    return progress


def check_rows(services: Services, plan: SeedPlan, first: int) -> int:
    """Directly written rows must equal what the projection makes from the replayed order."""
    rng = random.Random(1)
    references = [f"seed-{rng.randrange(first, plan.count)}" for _ in range(CHECKED_ROWS)]
    generation = services.read_model.projector.active_generation()
    marks = ", ".join("?" * len(references))
    with services.read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM {orders_table(generation)} "
                       f"WHERE external_reference IN ({marks})", references)
        rows = {row[0]: tuple(row) for row in cursor.fetchall()}
        if not rows:
            return CHECKED_ROWS
        cursor.execute(f"SELECT order_id, field, text_value, num_value FROM {terms_table(generation)} "
                       f"WHERE order_id IN ({', '.join('?' * len(rows))})", list(rows))
        terms: dict[str, list[tuple[Any, ...]]] = {}
        for order_id, *term in cursor.fetchall():
            terms.setdefault(order_id, []).append(tuple(term))
    differences = len(set(references)) - len(rows)
    for code, row in rows.items():
        order = services.application.get_order(code, None)
        expected_terms = sorted(t[1:] for t in order_terms(order))
        if row != order_row(order) or sorted(terms.get(code, [])) != expected_terms:
            differences += 1
    return differences
