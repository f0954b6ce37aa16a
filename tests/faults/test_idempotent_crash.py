"""Exactly once across a crash: a process killed after it stored a keyed request's change but
before it answered leaves the answer on record, and the client's retry gets it, with no second
sale (contract section 1, Safe retries). Real gunicorn processes, both backends."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_DEPARTURE
from ordering.http.idempotency import KILL_AFTER_COMMIT
from ordering.settings import Settings
from tests.conftest import auth_headers
from tests.support.processes import gunicorn, service_env
from tests.support.sales import RESERVE_BODY, every_order, publish_demo_catalogue

pytestmark = pytest.mark.faults
HEADERS = {**auth_headers(), "ET-Client-Name": "acme-app", "Entur-POS": "Entur-APP",
           "Entur-Distribution-Channel": "ENT:DistributionChannel:Web", "Idempotency-Key": "sale-after-crash"}


def test_a_retry_after_the_server_died_between_commit_and_answer_gets_the_stored_answer(
        settings: Settings, tmp_path: Path) -> None:
    application = OrderingApplication(env=settings.eventsourcing_env())
    publish_demo_catalogue(application)
    application.set_capacity(BERGEN_DEPARTURE, 10)
    env = service_env(settings, settings.database_url, tmp_path)
    dying = gunicorn({**env, KILL_AFTER_COMMIT: "1"}, tmp_path / "dying.log", workers=1, threads=2)
    with dying as server, pytest.raises(requests.ConnectionError):  # the worker died before answering
        requests.post(f"{server.base}/v1/reserve-offers", json=RESERVE_BODY, headers=HEADERS, timeout=10)
    [sold] = every_order(application)  # the change was stored
    with gunicorn(env, tmp_path / "restarted.log", workers=1, threads=2) as server:
        retry = requests.post(f"{server.base}/v1/reserve-offers", json=RESERVE_BODY, headers=HEADERS,
                              timeout=10)
    assert retry.status_code == 200, retry.text
    assert retry.headers["Idempotency-Replayed"] == "true" and retry.json()["orderId"] == sold.code
    assert [order.code for order in every_order(application)] == [sold.code]
    assert application.availability(BERGEN_DEPARTURE).reserved == 1
    application.close()
