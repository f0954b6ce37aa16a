"""A save on PostgreSQL in one statement: ``SELECT * FROM orders_events_save(...)``.

The seats a change holds and gives back, the answer to its request and its events are written
by one server-side function in the statement's own transaction, in the order the other stores
write them (``ordering.seats``, ``ordering.idempotency``): the departures' counter rows in
sorted order, then the answer, then the event table's lock, the NOTIFY and the events. Nothing
goes back and forth with the worker while the rows and the table are locked, and a save costs
the worker one statement instead of seven in a pipeline.

A hold that does not fit raises ``NoAvailability``, a capacity below the seats held
``CapacityBelowReserved``; a version conflict (or a second answer for a key) is a unique
violation, as with the library's insert. The transaction is rolled back in every case.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import psycopg

from ordering.domain.inventory import SeatChanges
from ordering.idempotency import StoredAnswer, micros
from ordering.seats import SeatTables

NO_AVAILABILITY_STATE = "OS001"
CAPACITY_BELOW_RESERVED_STATE = "OS002"


def function_name(events_table: str) -> str:
    """One function per event table (another application's recorder in the same schema, such
    as the benchmark's library baseline, has its own)."""
    return f"{events_table}_save"


def create_statement(schema: str, events_table: str, event_type: str, channel: str, lock_timeout: int,
                     seats: SeatTables, answers: str) -> str:
    """``seats`` and ``answers`` name schema-qualified tables; ``event_type`` the library's
    composite type of a stored event."""
    events = f'"{schema}"."{events_table}"'
    return f"""
CREATE OR REPLACE FUNCTION "{schema}".{function_name(events_table)}(
    events "{schema}"."{event_type}"[], released text[], held_ids text[], held_journeys text[],
    held_orders text[], held_seats int[], capacity_journeys text[], capacity_seats int[],
    answer_key text, answer_fingerprint text, answer_status int, answer_body text,
    answer_headers text, answer_expires bigint)
RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
DECLARE
    change record;
BEGIN
    FOR change IN
        WITH freed AS (DELETE FROM {seats.holds} WHERE reservation_id = ANY(released)
                       RETURNING journey_id, seats),
             counted AS (SELECT * FROM unnest(held_journeys, held_seats) AS wanted (journey_id, seats)
                         UNION ALL SELECT journey_id, -seats FROM freed)
        SELECT journey_id, sum(seats)::int AS seats FROM counted GROUP BY journey_id ORDER BY journey_id
    LOOP
        UPDATE {seats.counts} SET held = held + change.seats
            WHERE journey_id = change.journey_id AND held + change.seats <= capacity;
        IF NOT FOUND AND change.seats > 0 THEN
            RAISE EXCEPTION USING ERRCODE = '{NO_AVAILABILITY_STATE}', MESSAGE = change.journey_id,
                DETAIL = change.seats::text;
        END IF;
    END LOOP;
    INSERT INTO {seats.holds} SELECT * FROM unnest(held_ids, held_journeys, held_orders, held_seats);
    FOR change IN SELECT * FROM unnest(capacity_journeys, capacity_seats) AS wanted (journey_id, seats)
                  ORDER BY journey_id, seats
    LOOP
        INSERT INTO {seats.counts} VALUES (change.journey_id, change.seats, 0)
            ON CONFLICT (journey_id) DO UPDATE SET capacity = excluded.capacity
            WHERE {seats.counts}.held <= excluded.capacity;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = '{CAPACITY_BELOW_RESERVED_STATE}', MESSAGE = change.journey_id,
                DETAIL = change.seats::text;
        END IF;
    END LOOP;
    IF answer_key IS NOT NULL THEN
        INSERT INTO {answers} VALUES (answer_key, answer_fingerprint, answer_status, answer_body,
                                      answer_headers, answer_expires);
    END IF;
    SET LOCAL lock_timeout = '{lock_timeout}s';
    LOCK TABLE {events} IN EXCLUSIVE MODE;
    NOTIFY "{channel}";
    RETURN QUERY INSERT INTO {events} (originator_id, originator_version, topic, state)
        SELECT e.originator_id, e.originator_version, e.topic, e.state FROM unnest(events) AS e
        RETURNING notification_id;
END
$body$"""


def call_statement(schema: str, events_table: str) -> str:
    return f'SELECT * FROM "{schema}".{function_name(events_table)}({", ".join(["%s"] * 14)})'


def parameters(events: Sequence[Any], seats: SeatChanges | None,
               answer: StoredAnswer | None) -> tuple[Any, ...]:
    """The function's arguments: ``events`` as the library's composite values."""
    seats = seats or SeatChanges()
    held = seats.held
    capacities = seats.capacities
    answer_fields: tuple[Any, ...] = (None,) * 6
    if answer is not None:
        answer_fields = (answer.key_id, answer.fingerprint, answer.status, answer.body,
                         json.dumps(answer.headers), micros(answer.expires_at))
    return (list(events), list(seats.released), [h.reservation_id for h in held],
            [h.dated_service_journey_id for h in held], [h.order_code for h in held],
            [h.seats for h in held], [journey for journey, _ in capacities],
            [capacity for _, capacity in capacities], *answer_fields)


def refusal(error: psycopg.Error, seats: SeatTables) -> Exception | None:
    """The domain's refusal a failed call stands for (the seats), or None for any other error."""
    diagnostic = error.diag
    if error.sqlstate == NO_AVAILABILITY_STATE:
        return seats.no_availability(str(diagnostic.message_primary), int(diagnostic.message_detail or 0))
    if error.sqlstate == CAPACITY_BELOW_RESERVED_STATE:
        return seats.capacity_below_reserved(str(diagnostic.message_primary),
                                             int(diagnostic.message_detail or 0))
    return None
