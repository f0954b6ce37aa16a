"""ET-Client-Name buckets: unidentified callers share one small bucket, clients get their own."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from ordering.bootstrap import create_schema
from ordering.http.factory import create_app
from ordering.http.ratelimit import SweptMemoryStorage
from tests.conftest import auth_headers, make_settings


def test_unidentified_callers_share_a_small_bucket_and_get_429_with_retry_after(
    tmp_path: Path,
) -> None:
    settings = replace(make_settings("sqlite", tmp_path), rate_limit_anonymous="3 per minute",
                       rate_limit_identified="5 per minute")
    create_schema(settings)
    client = create_app(settings).test_client()
    anonymous = {k: v for k, v in auth_headers().items() if k != "ET-Client-Name"}
    answers = [client.get("/v1/orders/ZZZZZZZZ", headers=anonymous) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 429]
    assert all("Retry-After" not in answer.headers for answer in answers[:3])
    limited = client.get("/v1/orders/ZZZZZZZZ", headers=anonymous)
    assert limited.json["code"] == "RATE_LIMITED" and int(limited.headers["Retry-After"]) > 0
    identified = {**anonymous, "ET-Client-Name": "acme-app"}
    assert client.get("/v1/orders/ZZZZZZZZ", headers=identified).status_code == 404
    other = {**anonymous, "ET-Client-Name": "other-app"}
    statuses = [client.get("/v1/orders/ZZZZZZZZ", headers=other).status_code for _ in range(6)]
    assert statuses == [404] * 5 + [429]
    assert client.get("/health/live").status_code == 200


def test_the_in_process_bucket_starts_no_thread_per_request_and_still_limits_by_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``memory://`` once started a timer thread for almost every request (10 ms sweeps)."""
    settings = replace(make_settings("sqlite", tmp_path), rate_limit_identified="5 per second")
    create_schema(settings)
    client = create_app(settings).test_client()
    for _ in range(2):  # the storage's first, 10 ms timer has run out; the second hit starts the sweep
        client.get("/v1/orders/ZZZZZZZZ", headers=auth_headers())
        time.sleep(0.02)
    started: list[threading.Thread] = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start",
                        lambda thread: (started.append(thread), real_start(thread)))
    statuses = []
    for _ in range(4):
        statuses.append(client.get("/v1/orders/ZZZZZZZZ", headers=auth_headers()).status_code)
        time.sleep(0.02)  # longer than the library's own 10 ms sweep
    assert statuses == [404, 404, 404, 429]
    assert started == []
    time.sleep(1.05)  # the window has moved on, whether or not the sweep has run
    assert client.get("/v1/orders/ZZZZZZZZ", headers=auth_headers()).status_code == 404


def test_a_swept_bucket_forgets_old_hits() -> None:
    storage = SweptMemoryStorage()
    limiter = MovingWindowRateLimiter(storage)
    assert limiter.hit(parse("3 per second"), "acme-app")
    storage._MemoryStorage__expire_events()  # type: ignore[attr-defined]
    assert any(storage.events.values())  # not yet expired
    time.sleep(1.05)
    storage._MemoryStorage__expire_events()  # type: ignore[attr-defined]
    assert not any(storage.events.values())
