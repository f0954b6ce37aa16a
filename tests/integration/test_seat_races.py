"""Seats are never oversold, however many reservations race for the last ones."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from ordering.application import OrderingApplication
from ordering.application.base import collecting
from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER, demo_offers
from ordering.domain.errors import DomainError, OrderNotFound
from ordering.domain.inventory import NoAvailability
from ordering.domain.reserving import OfferConfiguration
from ordering.http.sales import load_offers
from ordering.idempotency import StoredAnswer
from ordering.settings import Settings
from tests.builders import context_of
from tests.conftest import TEST_DATABASE_URL, auth_headers
from tests.support.processes import gunicorn, service_env

ONE_TRAVELLER = OfferConfiguration(BERGEN_OFFER, ["7a1c0e52-0000-4b7e-8c1d-000000000001"])


def open_departure(application: OrderingApplication, seats: int) -> None:
    application.publish_offers(load_offers(demo_offers(application.clock())))
    application.set_capacity(BERGEN_DEPARTURE, seats)


def test_threads_racing_for_the_last_seats_never_oversell(application: OrderingApplication) -> None:
    open_departure(application, seats=5)
    start = threading.Barrier(12)

    def reserve(n: int) -> str:
        start.wait()
        try:
            application.reserve_offers(context_of(1, f"race-{n}"), None, [ONE_TRAVELLER])
        except DomainError as error:
            return error.code
        return "RESERVED"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = Counter(pool.map(reserve, range(12)))
    seats = application.availability(BERGEN_DEPARTURE)
    assert seats.reserved == outcomes["RESERVED"] <= 5
    assert set(outcomes) <= {"RESERVED", "NO_AVAILABILITY"}  # one departure is no conflict
    assert outcomes["RESERVED"] == 5, outcomes


def test_a_held_back_reservation_whose_last_seat_went_meanwhile_is_refused_at_its_commit(
        application: OrderingApplication) -> None:
    open_departure(application, seats=1)
    with collecting() as held:
        late = application.reserve_offers(context_of(1, "late"), None, [ONE_TRAVELLER])
    application.reserve_offers(context_of(1, "first"), None, [ONE_TRAVELLER])
    answer = StoredAnswer("key", "fingerprint", 201, "{}", {}, application.clock() + timedelta(hours=1))
    with pytest.raises(NoAvailability):
        application.save_with_answer(held, answer)
    with pytest.raises(OrderNotFound):
        application.get_order(late.order.code, None)
    assert application.idempotency.answer("key", application.clock()) is None
    assert application.availability(BERGEN_DEPARTURE).reserved == 1


@pytest.fixture
def gunicorn_on_postgres(postgres_settings: Settings, tmp_path: Path) -> Iterator[str]:
    """The production server: gunicorn with several worker processes against PostgreSQL,
    started on a schema made by the schema command, with table creation off."""
    env = service_env(postgres_settings, TEST_DATABASE_URL, tmp_path)
    with gunicorn(env, tmp_path / "gunicorn.log", workers=3, threads=4) as server:
        yield server.base


@pytest.mark.postgres
def test_worker_processes_racing_over_http_never_oversell(
    gunicorn_on_postgres: str, postgres_settings: Settings
) -> None:
    application = OrderingApplication(env=postgres_settings.eventsourcing_env())
    application.publish_offers(load_offers(demo_offers(application.clock())))
    application.close()
    writer = auth_headers(permissions=("offers:write",))
    base = gunicorn_on_postgres
    assert requests.put(f"{base}/v1/journeys/{BERGEN_DEPARTURE}/capacity", json={"seats": 7},
                        headers=writer, timeout=10).status_code == 200
    body = {"offerConfigurations": [{"offerId": BERGEN_OFFER,
                                     "selectedTravellerIds": ONE_TRAVELLER.selected_traveller_ids}]}
    start = threading.Barrier(24)

    def reserve(_: int) -> tuple[int, str | None]:
        start.wait()
        response = requests.post(f"{base}/v1/reserve-offers", json=body, headers=auth_headers(), timeout=30)
        return response.status_code, response.json().get("code")

    with ThreadPoolExecutor(max_workers=24) as pool:
        outcomes = Counter(pool.map(reserve, range(24)))
    seats = requests.get(f"{base}/v1/journeys/{BERGEN_DEPARTURE}/availability", headers=writer,
                         timeout=10).json()
    assert seats == {"capacity": 7, "reserved": outcomes[(200, None)], "available": 7 - outcomes[(200, None)]}
    assert outcomes[(200, None)] == 7, outcomes
    assert set(outcomes) <= {(200, None), (409, "NO_AVAILABILITY")}  # never a spurious conflict
