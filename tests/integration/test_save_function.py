"""A save that loses its version race stores nothing it carried (seats, the answer to its
request), and leaves the event table free (on PostgreSQL the whole save is one call of the
``orders_events_save`` function); a store made before that function gets it on its first save."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from ordering.application import OrderingApplication
from ordering.bootstrap import build_services
from ordering.domain.inventory import SeatChanges, SeatHold
from ordering.idempotency import ANSWER_KWARG, StoredAnswer
from ordering.seats import SEATS_KWARG
from ordering.settings import Settings
from tests.builders import context_of
from tests.conftest import FakeClock

JOURNEY = "ENT:DatedServiceJourney:one-call"


def carried(application: OrderingApplication, key: str, reservation: str) -> dict[str, object]:
    answer = StoredAnswer(key, "fingerprint", 201, "{}", {}, datetime.now(UTC) + timedelta(hours=1))
    hold = SeatHold(reservation, JOURNEY, "ORDER001", 2)
    return {SEATS_KWARG: SeatChanges(held=(hold,)), ANSWER_KWARG: answer}


def test_a_save_refused_for_its_version_keeps_no_seat_and_no_answer(
    application: OrderingApplication,
) -> None:
    application.set_capacity(JOURNEY, 5)
    taken = StoredEvent(uuid4(), 1, "tests:Nothing", b"{}")
    application.recorder.insert_events([taken])
    with pytest.raises(IntegrityError):
        application.recorder.insert_events([taken], **carried(application, "key-lost", "r-lost"))
    assert application.availability(JOURNEY).reserved == 0
    assert application.idempotency.answer("key-lost", datetime.now(UTC)) is None

    saved = threading.Thread(target=application.recorder.insert_events, daemon=True,
                             args=([StoredEvent(uuid4(), 1, "tests:Nothing", b"{}")],),
                             kwargs=carried(application, "key-won", "r-won"))
    saved.start()
    saved.join(timeout=10)
    assert not saved.is_alive(), "the refused save left the event table locked"
    assert application.availability(JOURNEY).reserved == 2
    assert application.idempotency.answer("key-won", datetime.now(UTC)) is not None


def test_a_store_an_earlier_release_made_gets_the_save_function_on_its_first_save(
    postgres_settings: Settings, clock: FakeClock,
) -> None:
    schema = postgres_settings.postgres_schema
    with psycopg.connect(postgres_settings.database_url, autocommit=True) as connection:
        connection.execute(f'DROP FUNCTION "{schema}".orders_events_save')
    services = build_services(postgres_settings, clock)
    try:
        code = services.application.create_order(context_of(1)).code
        assert services.application.get_order(code, 1).status == "DRAFT"
    finally:
        services.close()


class Elsewhere(OrderingApplication):
    name = "Elsewhere"  # its events in elsewhere_events


def test_another_application_in_the_same_schema_keeps_its_own_save_function(
    postgres_settings: Settings, clock: FakeClock,
) -> None:
    """The benchmark's library baseline shares the service's schema: making its tables must
    not turn the orders' saves into its own."""
    Elsewhere(env=postgres_settings.eventsourcing_env(create_table=True)).close()
    services = build_services(postgres_settings, clock)
    try:
        before = services.application.recorder.max_notification_id() or 0
        services.application.create_order(context_of(1))
        assert (services.application.recorder.max_notification_id() or 0) > before
    finally:
        services.close()
