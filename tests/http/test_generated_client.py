"""A typed client generated from ``/openapi.json`` (openapi-python-client) runs the README's whole
sale against the service: what an integrator generates works without reading our code."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from flask import Flask

from ordering.demo_catalogue import BERGEN_DEPARTURE, BERGEN_OFFER, TRAVELLERS
from tests.conftest import token
from tests.http.test_sales_http import Catalogue

PACKAGE = "order_service_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    from ordering.http.factory import create_app
    from tests.conftest import make_settings

    where = tmp_path_factory.mktemp("client")
    spec = create_app(make_settings("sqlite", where)).test_client().get("/openapi.json").json
    (where / "openapi.json").write_text(json.dumps(spec))
    (where / "config.yaml").write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json", "--config",
         "config.yaml", "--meta", "none", "--output-path", PACKAGE],
        cwd=where, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout, result.stdout  # every schema was understood
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def api(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def model(name: str) -> Any:
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


def test_a_generated_client_runs_the_whole_sale(
    generated: ModuleType, flask_app: Flask, catalogue: Catalogue
) -> None:
    client = generated.AuthenticatedClient(
        base_url="http://orders.test", token=token(),
        httpx_args={"transport": httpx.WSGITransport(app=flask_app)})
    sales = {"et_client_name": "acme-app", "entur_pos": "Entur-APP",
             "entur_distribution_channel": "ENT:DistributionChannel:Web"}
    offers = api("sales.list_offers").sync(client=client, et_client_name="acme-app")
    assert BERGEN_OFFER in [offer.id for offer in offers]
    body = model("ReserveOffersIn").from_dict(
        {"offerConfigurations": [{"offerId": BERGEN_OFFER, "selectedTravellerIds": [TRAVELLERS[0]]}]})
    reserved = api("sales.reserve_offers").sync_detailed(client=client, body=body, **sales)
    assert reserved.status_code == 200 and "location" in reserved.headers
    order_id = reserved.parsed.order_id
    seats = api("sales.get_availability").sync(BERGEN_DEPARTURE, client=client)
    assert (seats.reserved, seats.available) == (1, seats.capacity - 1)
    order = api("orders.get_order").sync(order_id, client=client)
    assert (order.status, order.balance) == (model("OrderOutStatus").DRAFT, "899.00")
    payment_in = model("PaymentIn").from_dict({"orderId": order_id, "orderVersion": order.version,
                                               "amount": order.balance, "currency": "NOK",
                                               "paymentType": "VISA"})
    payment = api("sales.create_payment").sync(client=client, body=payment_in)
    assert payment.status == model("PaymentOutStatus").CREATED
    captured = api("sales.capture_payment").sync(payment.id, client=client)
    assert captured.status == model("PaymentOutStatus").CAPTURED
    confirmed = api("orders.get_order").sync(order_id, client=client)
    assert (confirmed.status, confirmed.balance) == (model("OrderOutStatus").CONFIRMED, "0.00")
    trail = api("orders.get_order_trail").sync(order_id, client=client)
    assert [event.type_ for event in trail.events][-1] == "OrderConfirmed"
    page = api("orders.search_orders").sync(client=client, status="CONFIRMED",
                                            dated_service_journey_id=BERGEN_DEPARTURE)
    assert [item.id for item in page.items] == [order_id]
    missing = api("orders.get_order").sync_detailed("ZZZZZZZZ", client=client)
    assert missing.status_code == 404 and missing.parsed.code == "ORDER_NOT_FOUND"

