"""Logs as an operator reads them: one JSON object per line, from gunicorn workers and the
scheduler alike, with who asked (correlation id, organisation, client), the route, status and
duration; a line for every change to an order; sweeps logged by the leader only."""

from __future__ import annotations

import io
import json
import logging
import os
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from ordering.bootstrap import build_services, create_schema
from ordering.demo_catalogue import BERGEN_OFFER, DEMO_CAPACITY, TRAVELLERS
from ordering.domain.policy import OrderPolicy
from ordering.http.factory import create_app
from ordering.logs import JsonLogFormatter, configure_logging, level_from_environment
from ordering.settings import Settings
from tests.conftest import JWT_SECRET, auth_headers, make_settings
from tests.support.processes import gunicorn, start_scheduler, stop
from tests.support.sales import publish_demo_catalogue

HEADERS = auth_headers()


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line parsed; a line that is not one JSON object fails the test, naming it."""
    parsed = []
    for line in text.splitlines():
        if line.strip():
            try:
                entry = json.loads(line)
            except ValueError:
                pytest.fail(f"not a JSON line: {line!r}")
            assert isinstance(entry, dict), line
            assert {"time", "level", "logger", "message"} <= entry.keys(), line
            parsed.append(entry)
    return parsed


def sqlite_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url, "JWT_SECRET": JWT_SECRET,
            "ORDERS_INSTANCE_DIR": str(settings.instance_dir), **extra}


def prepared(tmp_path: Path, **policy: Any) -> Settings:
    settings = replace(make_settings("sqlite", tmp_path), policy=OrderPolicy(**policy))
    create_schema(settings)
    services = build_services(settings)
    try:
        publish_demo_catalogue(services.application)
        for journey, seats in DEMO_CAPACITY.items():
            services.application.set_capacity(journey, seats)
    finally:
        services.close()
    return settings


def test_gunicorn_workers_log_json_lines_with_the_request_and_the_change(tmp_path: Path) -> None:
    settings = prepared(tmp_path)
    log = tmp_path / "gunicorn.log"
    with gunicorn(sqlite_env(settings), log, workers=1, threads=2) as server:
        created = requests.post(f"{server.base}/v1/reserve-offers", timeout=10, json={
            "offerConfigurations": [{"offerId": BERGEN_OFFER, "selectedTravellerIds": [TRAVELLERS[0]]}]},
            headers={**HEADERS, "X-Correlation-Id": "logs-test-1"})
        assert created.status_code == 200, created.text
        missing = requests.get(f"{server.base}/v1/orders/ZZZZZZZZ", headers=HEADERS, timeout=10)
        assert missing.status_code == 404
    entries = json_lines(log.read_text())
    access = [e for e in entries if e["logger"] == "ordering.http.access"]
    reserve = next(e for e in access if e.get("correlationId") == "logs-test-1")
    assert reserve["level"] == "INFO" and reserve["status"] == 200
    assert (reserve["organisationId"], reserve["clientName"]) == (1, "acme-tests")
    assert (reserve["method"], reserve["route"]) == ("POST", "/v1/reserve-offers")
    assert isinstance(reserve["durationMs"], float | int) and reserve["process"] == "web"
    not_found = next(e for e in access if e["status"] == 404)
    assert not_found["route"] == "/v1/orders/<order_id>"
    change = next(e for e in entries if e["logger"] == "ordering.changes")
    assert change["orderId"] == created.json()["orderId"] and change["level"] == "INFO"
    assert change["correlationId"] == "logs-test-1" and change["organisationId"] == 1
    assert "OrderLineAdded" in change["events"]
    assert any(e["logger"] == "gunicorn.error" for e in entries)  # gunicorn's own lines too


def test_the_scheduler_logs_its_lead_what_it_expired_and_nothing_while_there_is_nothing(
    tmp_path: Path,
) -> None:
    settings = prepared(tmp_path, draft_ttl=timedelta(seconds=1))
    client = create_app(settings).test_client()
    reserved = client.post("/v1/reserve-offers", headers=HEADERS, json={
        "offerConfigurations": [{"offerId": BERGEN_OFFER, "selectedTravellerIds": [TRAVELLERS[0]]}]})
    assert reserved.status_code == 200, reserved.json
    code = reserved.json["orderId"]
    log = tmp_path / "scheduler.log"
    process = start_scheduler(sqlite_env(settings, ORDER_EXPIRY_INTERVAL_SECONDS="0.3",
                                         LOG_LEVEL="INFO"), log)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "OrderExpired" not in log.read_text():
            time.sleep(0.2)
        time.sleep(1)  # a few more sweeps with nothing due
    finally:
        stop(process)
    entries = json_lines(log.read_text())
    assert all(e["process"] == "scheduler" for e in entries)
    assert any(e.get("leader") is True and e["duty"] == "the expiry sweeps" for e in entries)
    expired = [e for e in entries if e["logger"] == "ordering.changes" and e["orderId"] == code]
    assert [e["events"] for e in expired] == [["OrderExpired"]]
    sweeps = [e for e in entries if e["message"].startswith("expiry sweep")]
    assert len(sweeps) == 1 and code in sweeps[0]["orderIds"] and sweeps[0]["expired"] == 1
    assert sweeps[0]["correlationId"] == expired[0]["correlationId"]
    assert not any("apscheduler" in e["logger"] for e in entries)


def test_the_level_comes_from_log_level_and_every_line_names_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert level_from_environment({"LOG_LEVEL": "warning"}) == "WARNING"
    assert level_from_environment({"LOG_LEVEL": "chatty"}) == "INFO"
    assert level_from_environment({}) == "INFO"
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    root = logging.getLogger()
    before = root.level
    try:
        configure_logging("cli")
        assert root.level == logging.WARNING
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonLogFormatter())
        logging.getLogger("ordering.test").addHandler(handler)
        logging.getLogger("ordering.test").info("not shown")
        logging.getLogger("ordering.test").warning("shown: %s", "ünïcode", extra={"orderId": "K7QF3M2X"})
        [entry] = json_lines(stream.getvalue())
        assert entry["message"] == "shown: ünïcode" and entry["level"] == "WARNING"
        assert entry["orderId"] == "K7QF3M2X" and entry["process"] == "cli"
        assert entry["time"].endswith("Z")
    finally:
        root.setLevel(before)
        logging.getLogger("ordering.test").handlers.clear()

