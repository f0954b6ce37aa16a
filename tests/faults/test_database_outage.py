"""The database goes away under the production server (gunicorn, 2 workers x 4 threads) and comes
back: while it is away every call that needs it answers 503 SERVICE_UNAVAILABLE quickly, as a
problem body with Retry-After; liveness stays up; once it is back the service recovers by itself."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_DEPARTURE
from ordering.settings import Settings
from tests.conftest import auth_headers
from tests.faults.conftest import proxy_url
from tests.support.pgproxy import PgProxy
from tests.support.processes import Gunicorn, gunicorn, service_env
from tests.support.sales import RESERVE_BODY, publish_demo_catalogue, whole_sale

pytestmark = [pytest.mark.postgres, pytest.mark.faults]
ANSWER_WITHIN_SECONDS = 8
RECOVER_WITHIN_SECONDS = 15


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    expected_up: int
    body: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path.split('?')[0]}"


@dataclass
class Answer:
    call: Call
    status: int | None
    seconds: float
    headers: dict[str, str]
    text: str
    error: str | None = None

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


@pytest.fixture
def server(proxied_settings: Settings, postgres_settings: Settings, pgproxy: PgProxy,
           tmp_path: Path) -> Iterator[Gunicorn]:
    application = OrderingApplication(env=postgres_settings.eventsourcing_env())
    publish_demo_catalogue(application)
    application.set_capacity(BERGEN_DEPARTURE, 200)
    application.close()
    env = service_env(postgres_settings, proxy_url(pgproxy), tmp_path)
    with gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4) as running:
        yield running


def calls(order_id: str) -> list[Call]:
    return [
        Call("GET", f"/v1/orders/{order_id}", 200),
        Call("GET", "/v1/orders?status=DRAFT&perPage=5", 200),
        Call("POST", "/v1/orders", 201, {"externalReference": "during-outage"}),
        Call("POST", "/v1/reserve-offers", 200, RESERVE_BODY),
        Call("GET", "/v1/offers", 200),
        Call("GET", "/health/ready", 200),
    ]


def send(base: str, call: Call) -> Answer:
    started = time.monotonic()
    try:
        response = requests.request(call.method, f"{base}{call.path}", json=call.body, headers=auth_headers(),
                                    timeout=ANSWER_WITHIN_SECONDS + 5)
    except requests.RequestException as error:
        return Answer(call, None, time.monotonic() - started, {}, "", f"{type(error).__name__}: {error}")
    return Answer(call, response.status_code, time.monotonic() - started, dict(response.headers),
                  response.text)


def send_all(base: str, batch: list[Call]) -> list[Answer]:
    with ThreadPoolExecutor(max_workers=len(batch)) as pool:
        return list(pool.map(lambda c: send(base, c), batch))


def unavailable_problems(answers: list[Answer]) -> list[str]:
    """What is wrong with each answer that should be a quick 503 problem (empty: all right)."""
    wrong = []
    for a in answers:
        body = a.json() if a.status is not None else None
        retry_after = a.headers.get("Retry-After", "")
        problems = [
            f"status {a.status} {a.error or ''}".strip() if a.status != 503 else "",
            f"took {a.seconds:.1f} s" if a.seconds >= ANSWER_WITHIN_SECONDS else "",
            "" if a.headers.get("Content-Type", "").startswith("application/problem+json")
            else f"Content-Type {a.headers.get('Content-Type')!r}",
            "" if isinstance(body, dict) and body.get("code") == "SERVICE_UNAVAILABLE"
            else f"code {body.get('code') if isinstance(body, dict) else None!r}",
            "traceback in body" if "Traceback" in a.text or 'File "' in a.text else "",
            "" if retry_after.isdigit() and int(retry_after) > 0 else f"Retry-After {retry_after!r}",
        ]
        if any(problems):
            wrong.append(f"{a.call.name}: {', '.join(p for p in problems if p)}; body {a.text[:160]!r}")
    return wrong


def test_a_database_outage_answers_503_quickly_and_the_service_recovers_by_itself(
    server: Gunicorn, pgproxy: PgProxy
) -> None:
    base = server.base
    headers = auth_headers()
    with requests.Session() as session:
        warm = whole_sale(session, base, headers)
    assert warm.captured and warm.order_id, f"the sale must work before the outage: {warm}"
    batch = calls(warm.order_id)
    assert all(a.status == a.call.expected_up for a in send_all(base, batch + batch)), "warm-up failed"

    pgproxy.go_down()
    try:
        for round_ in ("first (pools hold dead connections)", "second (pools have none)"):
            answers = send_all(base, batch)
            wrong = unavailable_problems(answers)
            assert not wrong, f"with the database down, {round_} round:\n" + "\n".join(wrong) + (
                f"\n--- gunicorn log ---\n{server.tail()}")
        live = requests.get(f"{base}/health/live", timeout=5)
        assert live.status_code == 200, f"liveness must not depend on the database: {live.status_code}"
    finally:
        pgproxy.come_back()

    back_at = time.monotonic()
    while True:
        answers = send_all(base, batch)
        failing = [f"{a.call.name}: {a.status or a.error}" for a in answers if a.status != a.call.expected_up]
        if not failing:
            break
        assert time.monotonic() - back_at < RECOVER_WITHIN_SECONDS, (
            f"not recovered {RECOVER_WITHIN_SECONDS} s after the database came back: {failing}\n"
            f"--- gunicorn log ---\n{server.tail()}")
        time.sleep(0.5)

    with requests.Session() as session:
        sale = whole_sale(session, base, headers)
        assert sale.captured, f"a whole sale must work after recovery: {sale}"
        order = session.get(f"{base}/v1/orders/{sale.order_id}", headers=headers, timeout=10).json()
    assert order["status"] == "CONFIRMED", order
