"""``/metrics`` under gunicorn: every worker's requests added up, whichever worker is scraped."""

from __future__ import annotations

import os
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from ordering.bootstrap import create_schema
from tests.conftest import JWT_SECRET, auth_headers, make_settings
from tests.support.processes import gunicorn

HEADERS = auth_headers()
ROUTE_404 = ("order_service_http_requests_total", {"method": "GET", "route": "/v1/orders/<order_id>",
                                                    "status": "404"})


def count(text: str, name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_gunicorn_workers_metrics_are_added_up_and_start_from_zero(tmp_path: Path) -> None:
    settings = make_settings("sqlite", tmp_path)
    create_schema(settings)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "JWT_SECRET": JWT_SECRET,
           "ORDERS_INSTANCE_DIR": str(tmp_path), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    for run in range(2):  # a restarted instance does not count what the one before it did
        with gunicorn(env, tmp_path / f"gunicorn-{run}.log", workers=2, threads=2) as server:
            with requests.Session() as first, requests.Session() as second:
                for n in range(20):
                    session = first if n % 2 else second
                    answer = session.get(f"{server.base}/v1/orders/ZZZZZZZZ", headers=HEADERS, timeout=10)
                    assert answer.status_code == 404
            scrapes = [requests.get(f"{server.base}/metrics", timeout=10) for _ in range(4)]
        assert all(s.status_code == 200 and s.headers["Content-Type"].startswith("text/plain")
                   for s in scrapes)
        assert [count(s.text, *ROUTE_404) for s in scrapes] == [20.0] * 4
        assert all(count(s.text, "order_service_database_up", {}) == 1 for s in scrapes)


def test_two_gunicorn_instances_on_one_host_share_no_control_socket(tmp_path: Path) -> None:
    settings = make_settings("sqlite", tmp_path)
    create_schema(settings)
    home = tmp_path / "home"
    env = {**os.environ, "DATABASE_URL": settings.database_url, "JWT_SECRET": JWT_SECRET,
           "ORDERS_INSTANCE_DIR": str(tmp_path), "HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    with gunicorn(env, tmp_path / "a.log", workers=1, threads=2) as first, \
            gunicorn(env, tmp_path / "b.log", workers=1, threads=2) as second:
        for server in (first, second):
            assert requests.get(f"{server.base}/health/live", timeout=10).status_code == 200
            assert requests.get(f"{server.base}/metrics", timeout=10).status_code == 200
        assert not [path for path in home.rglob("*") if path.is_socket()]  # none to fight over
