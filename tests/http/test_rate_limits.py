"""ET-Client-Name buckets: unidentified callers share one small bucket, clients get their own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ordering.bootstrap import create_schema
from ordering.http.factory import create_app
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
