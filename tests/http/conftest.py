"""Fixtures shared by the HTTP tests."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_SEATS, DRAMMEN_OFFER, demo_offers
from tests.conftest import FakeClock
from tests.http.test_sales_http import Catalogue, publish, set_seats, variant


@pytest.fixture
def catalogue(client: FlaskClient, clock: FakeClock) -> Catalogue:
    """The demo catalogue published, with its Bergen departure's seats set; offers by id."""
    offers = demo_offers(clock.now)
    assert publish(client, offers).status_code == 201
    assert set_seats(client, BERGEN_DEPARTURE, {"seats": BERGEN_SEATS}).status_code == 200
    return {o["id"]: o for o in offers}


@pytest.fixture
def confirmed_by_others(client: FlaskClient, catalogue: Catalogue) -> str:
    """An offer whose lines a third party must confirm (Drammen - Oslo S, 129.00)."""
    external = variant(catalogue[DRAMMEN_OFFER], externalConfirmationRequired=True)
    assert publish(client, external).status_code == 201
    return str(external["id"])
