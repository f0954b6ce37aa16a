"""Read your writes with the projection off the write path: several gunicorn worker processes
store events and answer; the read model's follower (one leader among them) projects; a search
right after a change, on whichever worker, still sees it (contract section 4)."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests

from ordering.application import OrderingApplication
from ordering.bootstrap import Services
from ordering.settings import Settings
from projections import ReadModel
from projections.search import parse_query
from tests.builders import context_of
from tests.conftest import auth_headers
from tests.support.processes import gunicorn, service_env

HEADERS = {**auth_headers(), "ET-Client-Name": "acme-app", "Entur-POS": "Entur-APP",
           "Entur-Distribution-Channel": "ENT:DistributionChannel:Web"}


def test_a_search_right_after_a_change_on_any_worker_sees_it(settings: Settings, tmp_path: Path) -> None:
    env = service_env(settings, settings.database_url, tmp_path)
    with gunicorn(env, tmp_path / "gunicorn.log", workers=3, threads=4) as server:
        for attempt in range(30):
            reference = f"ryw-{attempt}-{uuid.uuid4().hex[:8]}"
            with requests.Session() as writer:
                created = writer.post(f"{server.base}/v1/orders", json={"externalReference": reference},
                                      headers=HEADERS, timeout=10)
            assert created.status_code == 201, created.text
            with requests.Session() as reader:  # a new connection: any worker may answer
                found = reader.get(f"{server.base}/v1/orders", headers=HEADERS, timeout=10,
                                   params={"externalReference": f"eq:{reference}"})
            assert found.status_code == 200, found.text
            found_ids = [o["id"] for o in found.json()["items"]]
            assert found_ids == [created.json()["id"]], (attempt, server.tail())


def test_a_search_waits_a_bounded_time_for_a_silent_follower_then_projects_itself(
        services: Services) -> None:
    application: OrderingApplication = services.application
    read_model = ReadModel(application, services.read_model.database, settle_seconds=0.05)
    read_model.followed = True  # as if a follower ran here, but none does
    code = application.create_order(context_of(1), external_reference="silent").code
    page = read_model.search(1, parse_query({"externalReference": ["eq:silent"]}))
    assert [o["id"] for o in page["items"]] == [code]
