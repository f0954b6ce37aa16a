"""Fixtures shared by the HTTP tests."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_SEATS, demo_offers
from tests.conftest import FakeClock
from tests.http.test_sales_http import Catalogue, publish, set_seats


@pytest.fixture
def catalogue(client: FlaskClient, clock: FakeClock) -> Catalogue:
    """The demo catalogue published, with its Bergen departure's seats set; offers by id."""
    offers = demo_offers(clock.now)
    assert publish(client, offers).status_code == 201
    assert set_seats(client, BERGEN_DEPARTURE, {"seats": BERGEN_SEATS}).status_code == 200
    return {o["id"]: o for o in offers}
