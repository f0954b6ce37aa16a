"""The README's feed consumer follows a busy production server: gunicorn worker processes on
PostgreSQL, eight clients selling at once, and the consumer sees every event exactly once."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_DEPARTURE
from ordering.settings import Settings
from tests.conftest import TEST_DATABASE_URL, auth_headers, token
from tests.integration.test_feed import store_order_events
from tests.support.processes import gunicorn, service_env
from tests.support.sales import publish_demo_catalogue, whole_sale

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 8
SALES_EACH = 4
THE_END = "the-end"


class Done(Exception):
    pass


def readme_consumer() -> Callable[..., None]:
    """The ten-line consumer exactly as the README shows it."""
    readme = (ROOT / "README.md").read_text()
    (code,) = re.findall(r"```python\n(.*?def follow.*?)```", readme, re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    follow: Callable[..., None] = namespace["follow"]
    return follow


@pytest.mark.postgres
def test_the_readme_consumer_sees_every_event_of_a_busy_server_once(
        postgres_settings: Settings, tmp_path: Path) -> None:
    application = OrderingApplication(env=postgres_settings.eventsourcing_env())
    publish_demo_catalogue(application)
    application.set_capacity(BERGEN_DEPARTURE, 1000)
    env = service_env(postgres_settings, TEST_DATABASE_URL, tmp_path)
    with gunicorn(env, tmp_path / "gunicorn.log", workers=2, threads=4) as server:
        seen: list[dict[str, Any]] = []

        def handle(event: dict[str, Any]) -> None:
            seen.append(event)
            if event["type"] == "OrderCreated" and event["data"].get("externalReference") == THE_END:
                raise Done

        def consume() -> None:
            with contextlib.suppress(Done):
                readme_consumer()(server.base, token(1), handle)

        def sell(number: int) -> None:
            session = requests.Session()
            for _ in range(SALES_EACH):
                whole_sale(session, server.base, auth_headers(organisation_id=1 + number % 2))

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        writers = [threading.Thread(target=sell, args=(n,)) for n in range(WRITERS)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        assert requests.post(f"{server.base}/v1/orders", json={"externalReference": THE_END},
                             headers=auth_headers(), timeout=10).status_code == 201
        consumer.join(timeout=60)
        assert not consumer.is_alive(), server.tail()
    try:
        expected = store_order_events(application, 1)
    finally:
        application.close()
    assert [(event["orderId"], event["sequence"]) for event in seen] == expected
    assert len(expected) > WRITERS // 2 * SALES_EACH * 4
