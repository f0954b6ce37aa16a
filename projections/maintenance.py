"""Operating the read model: rebuild it beside the live one, verify it by replay, report lag."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from ordering.domain.order import Order
from ordering.representation.order import order_document
from ordering.store import UNAVAILABLE_ERRORS
from projections import ReadModel
from projections.db import PortableCursor
from projections.orders import (
    ORDER_TOPIC_PREFIXES,
    OrderProjector,
    OrderRows,
    order_row,
    order_terms,
    refused_write,
)
from projections.parking import Parked, park, parked_in, unpark
from projections.schema import (
    ORDER_COLUMNS,
    create_generation,
    create_search_indexes,
    drop_generation,
    generation_tables,
    orders_table,
    terms_table,
)

Progress = Callable[[int, int], None]  # (position, head)
SCAN_PAGE = 10_000
REBUILD_PAGE = 20_000  # notifications per transaction of a rebuild: rows written in bulk, once per order


@dataclass(frozen=True)
class RebuildReport:
    generation: int
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


def rebuild(read_model: ReadModel, progress: Progress, batch_size: int = REBUILD_PAGE) -> RebuildReport:
    """Fill a new generation from the whole history while the live one keeps serving, then
    switch to it. Interrupted, it resumes the generation it was building when run again.

    Each page of ``batch_size`` notifications is one transaction of the live projector's own
    ``advance``: every order it touches folded from the projector's cache, its row and terms
    written once in bulk (COPY on PostgreSQL), the tracked position moved in the same commit."""
    generation = _generation_to_build(read_model)
    projector = OrderProjector(read_model.application, read_model.database, batch_size)
    head = read_model.application.recorder.max_notification_id() or 0
    started, events = time.monotonic(), 0
    while True:
        read = projector.advance(generation)
        events += read
        progress(_position_of(read_model, generation), head)
        if read == 0:
            break
    _switch_to(read_model, generation)
    read_model.catch_up()
    return RebuildReport(generation, events, time.monotonic() - started)


def _generation_to_build(read_model: ReadModel) -> int:
    with read_model.database.transaction(write=True) as cursor:
        cursor.execute("SELECT generation, state FROM projection_tracking ORDER BY generation")
        rows = cursor.fetchall()
        building = [int(g) for g, state in rows if state == "building"]
        if building:
            return building[0]
        generation = max(int(g) for g, _ in rows) + 1
        create_generation(cursor, generation, "building")
        return generation


def _position_of(read_model: ReadModel, generation: int) -> int:
    with read_model.database.transaction() as cursor:
        cursor.execute("SELECT position FROM projection_tracking WHERE generation = ?", (generation,))
        return int(cursor.fetchone()[0])


def _switch_to(read_model: ReadModel, generation: int) -> None:
    """Make ``generation`` the one searches read and catch-ups advance; drop the old ones.

    Events saved after its last batch are applied by the next catch-up, from its own position."""
    with read_model.database.transaction(write=True) as cursor:
        create_search_indexes(cursor, generation)
    read_model.database.vacuum_analyze(generation_tables(generation))
    with read_model.database.transaction(write=True) as cursor:
        cursor.execute("UPDATE projection_active SET generation = ? WHERE id = 1", (generation,))
        cursor.execute("UPDATE projection_tracking SET state = 'live' WHERE generation = ?", (generation,))
        cursor.execute("SELECT generation FROM projection_tracking WHERE generation <> ?", (generation,))
        retired = [int(row[0]) for row in cursor.fetchall()]
    for old in retired:
        with read_model.database.transaction(write=True) as cursor:
            drop_generation(cursor, old)


def order_codes_in_history(read_model: ReadModel) -> Iterator[str]:
    """Every order the event store knows, from its creation events (one that cannot be decoded
    is parked by the projector, and reported from there)."""
    recorder, position = read_model.application.recorder, 0
    created = {f"{prefix}OrderCreated" for prefix in ORDER_TOPIC_PREFIXES}
    while True:
        page = recorder.select_notifications(start=position, limit=SCAN_PAGE, inclusive_of_start=False)
        for notification in page:
            if notification.topic in created:
                try:
                    event: Any = read_model.application.mapper.to_domain_event(notification)
                except UNAVAILABLE_ERRORS:
                    raise
                except Exception:
                    continue
                yield str(event.code)
        if len(page) < SCAN_PAGE:
            return
        position = page[-1].id


def verify(read_model: ReadModel, report: Callable[[str], None], chunk: int = 500) -> int:
    """Replay every order and compare it with its read-model row; returns the differences found."""
    read_model.catch_up()
    generation = read_model.projector.active_generation()
    codes = list(dict.fromkeys(order_codes_in_history(read_model)))
    differences = 0
    for start in range(0, len(codes), chunk):
        batch = codes[start:start + chunk]
        rows, terms = _read_model_rows(read_model, generation, batch)
        for code in batch:
            problem = _difference(read_model, code, rows.get(code), terms.get(code, []))
            if problem:
                report(f"{code}: {problem}")
                differences += 1
    for code in _codes_in_read_model(read_model, generation) - set(codes):
        report(f"{code}: in the read model but not in the event history")
        differences += 1
    for entry in read_model.parked():
        report(f"{entry.order_id or entry.aggregate_id}: parked at notification "
               f"{entry.notification_id}: {entry.reason}")
    return differences


def _difference(read_model: ReadModel, code: str, row: tuple[Any, ...] | None,
                terms: list[tuple[Any, ...]]) -> str | None:
    try:
        order = read_model.application.get_order(code, None)
        expected = order_row(order, order_document)  # the API's own dump, not the fast one
    except UNAVAILABLE_ERRORS:
        raise
    except Exception as error:
        return f"cannot be replayed: {type(error).__name__}: {error}"
    if row is None:
        return "missing from the read model"
    if row != expected:
        changed = [c for c, a, e in zip(ORDER_COLUMNS, row, expected, strict=True) if a != e]
        return f"read model differs from the replayed order in {', '.join(changed)}"
    if sorted(terms) != sorted(t[1:] for t in order_terms(order)):
        return "line and leg search terms differ from the replayed order"
    return None


def _read_model_rows(read_model: ReadModel, generation: int, codes: list[str]
                     ) -> tuple[dict[str, tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]]:
    marks = ", ".join("?" * len(codes))
    with read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT {', '.join(ORDER_COLUMNS)} FROM {orders_table(generation)} "
                       f"WHERE id IN ({marks})", codes)
        rows = {row[0]: tuple(row) for row in cursor.fetchall()}
        cursor.execute(f"SELECT order_id, field, text_value, num_value FROM {terms_table(generation)} "
                       f"WHERE order_id IN ({marks})", codes)
        terms: dict[str, list[tuple[Any, ...]]] = {}
        for order_id, *term in cursor.fetchall():
            terms.setdefault(order_id, []).append(tuple(term))
    return rows, terms


def _codes_in_read_model(read_model: ReadModel, generation: int) -> set[str]:
    with read_model.database.transaction() as cursor:
        cursor.execute(f"SELECT id FROM {orders_table(generation)}")
        return {row[0] for row in cursor.fetchall()}


def status(read_model: ReadModel) -> dict[str, Any]:
    position, head = read_model.position()
    with read_model.database.transaction() as cursor:
        cursor.execute("SELECT generation, position, applied, state FROM projection_tracking "
                       "ORDER BY generation")
        generations = [{"generation": int(g), "position": int(p), "eventsApplied": int(a), "state": s}
                       for g, p, a, s in cursor.fetchall()]
    return {"activeGeneration": read_model.projector.active_generation(), "position": position,
            "head": head, "lag": head - position, "generations": generations,
            "parked": [entry.as_json() for entry in read_model.parked()]}


def retry_parked(read_model: ReadModel) -> tuple[int, list[Parked]]:
    """Project every parked order again from its whole history (once a fix is deployed), under
    the projector's own lock. Returns how many now project, and what is still parked."""
    generation = read_model.projector.active_generation()
    fixed = 0
    with read_model.database.transaction(write=True) as cursor:
        cursor.execute("SELECT position FROM projection_tracking WHERE generation = ?"
                       + read_model.database.lock_clause(), (generation,))
        for entry in parked_in(cursor, generation):
            refused = _reproject(read_model, cursor, generation, entry)
            if refused is None:
                unpark(cursor, generation, [entry.aggregate_id])
                fixed += 1
            else:
                park(cursor, generation, [Parked.because(refused, entry.aggregate_id,
                                                         entry.notification_id, entry.order_id)])
    return fixed, read_model.parked()


def _reproject(read_model: ReadModel, cursor: PortableCursor, generation: int,
               entry: Parked) -> Exception | None:
    try:
        order: Order = read_model.application.repository.get(UUID(entry.aggregate_id))
        rows = OrderRows.of(order)
    except UNAVAILABLE_ERRORS:
        raise
    except Exception as error:
        return error
    return refused_write(cursor, generation, [rows])
