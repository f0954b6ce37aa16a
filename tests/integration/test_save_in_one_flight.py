"""A save that loses its version race stores nothing it carried (seats, the answer to its
request), and leaves the event table free: on PostgreSQL the lock, the events and the commit go
to the server in one flight, and the conflict is only heard when it answers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from ordering.application import OrderingApplication
from ordering.domain.inventory import SeatChanges, SeatHold
from ordering.idempotency import ANSWER_KWARG, StoredAnswer
from ordering.seats import SEATS_KWARG

JOURNEY = "ENT:DatedServiceJourney:one-flight"


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
