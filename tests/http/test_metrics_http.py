"""``GET /metrics`` as Prometheus scrapes it: no token, text format, the service's own figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from ordering.demo_catalogue import BERGEN_OFFER
from ordering.http.factory import create_app
from ordering.scheduling import Leadership
from ordering.settings import Settings
from tests.conftest import FakeClock, auth_headers
from tests.http.test_sales_http import Catalogue, offer, reserve

HEADERS = auth_headers()


def scrape(client: FlaskClient) -> dict[str, float]:
    """Every sample as ``name{label="value",...}`` -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def test_metrics_need_no_token_and_count_requests_by_route_and_status(client: FlaskClient) -> None:
    before = scrape(client)
    for _ in range(3):
        assert client.get("/v1/orders/ZZZZZZZZ", headers=HEADERS).status_code == 404
    assert client.get("/v1/orders").status_code == 401
    after = scrape(client)
    key = 'order_service_http_requests_total{method="GET",route="/v1/orders/<order_id>",status="404"}'
    assert after[key] - before.get(key, 0) == 3
    latency = ('order_service_http_request_duration_seconds_count'
               '{method="GET",route="/v1/orders/<order_id>",status="404"}')
    assert after[latency] - before.get(latency, 0) == 3
    problem = 'order_service_http_problems_total{code="ORDER_NOT_FOUND",status="404"}'
    assert after[problem] - before.get(problem, 0) == 3
    assert after["order_service_database_up{}"] == 1
    assert not any("ZZZZZZZZ" in name for name in after)  # routes, never raw paths


def test_metrics_show_commands_read_model_lag_and_expiry_lag(
    client: FlaskClient, flask_app: Flask, catalogue: Catalogue, clock: FakeClock
) -> None:
    before = scrape(client)
    assert reserve(client, offer(BERGEN_OFFER)).status_code == 200
    assert client.get("/v1/orders", headers=HEADERS).status_code == 200  # a search reads its writes
    after = scrape(client)
    saved = 'order_service_commands_total{outcome="saved"}'
    assert after[saved] - before.get(saved, 0) >= 1
    assert after["order_service_read_model_lag_events{}"] == 0
    assert after["order_service_read_model_lag_seconds{}"] == 0
    assert after["order_service_expiry_lag_seconds{}"] == 0
    clock.advance(minutes=25)  # the draft's expireAt passed 5 minutes ago, no sweep has run
    assert scrape(client)["order_service_expiry_lag_seconds{}"] == timedelta(minutes=5).total_seconds()
    assert "order_service_command_retries_total{}" in after
    keyed = {**HEADERS, "Idempotency-Key": "metrics-1"}
    assert client.post("/v1/orders", json={}, headers=keyed).status_code == 201
    assert client.post("/v1/orders", json={}, headers=keyed).headers["Idempotency-Replayed"] == "true"
    replays = "order_service_idempotency_replays_total{}"
    assert scrape(client)[replays] - after[replays] == 1


@pytest.mark.postgres
def test_metrics_name_the_scheduler_instance_that_leads(postgres_settings: Settings) -> None:
    client = create_app(postgres_settings).test_client()
    assert not any(k.startswith("order_service_scheduler_leader_info") for k in scrape(client))
    leadership = Leadership(postgres_settings.for_process("scheduler"))
    try:
        assert leadership.acquire()
        leaders = {k: v for k, v in scrape(client).items()
                   if k.startswith("order_service_scheduler_leader_info")}
        assert list(leaders.values()) == [1]
        assert f'instance="{leadership.instance_name()}"' in next(iter(leaders))
    finally:
        leadership.release()
    assert not any(k.startswith("order_service_scheduler_leader_info") for k in scrape(client))
