"""A whole sale over real HTTP (reserve, pay, capture), and what the event store says about the
orders afterwards. Every request has a timeout."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import requests

from ordering.application import OrderingApplication
from ordering.demo_catalogue import BERGEN_OFFER, TRAVELLERS, demo_offers
from ordering.domain.order import Order
from ordering.http.sales import load_offers
from tests.conftest import auth_headers

REQUEST_TIMEOUT = 10
RESERVE_BODY = {"offerConfigurations": [{"offerId": BERGEN_OFFER, "selectedTravellerIds": [TRAVELLERS[0]]}]}


class SaleFailed(Exception):
    def __init__(self, step: str, response: requests.Response | None,
                 error: BaseException | None = None) -> None:
        detail = (f"{response.status_code} {response.text[:200]}" if response is not None
                  else f"{type(error).__name__}: {error}")
        super().__init__(f"{step}: {detail}")
        self.step = step
        self.status = response.status_code if response is not None else None
        self.code = _code_of(response)


def _code_of(response: requests.Response | None) -> str | None:
    if response is None:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


@dataclass
class Sale:
    order_id: str | None = None
    payment_id: str | None = None
    capture_status: int | None = None
    failed_at: str | None = None
    failed_status: int | None = None  # None: no answer (connection error, timeout)
    failure: str | None = None

    @property
    def captured(self) -> bool:
        return self.capture_status is not None and 200 <= self.capture_status < 300


def call(session: requests.Session, method: str, url: str, step: str, expected: tuple[int, ...],
         **kwargs: Any) -> requests.Response:
    try:
        response = session.request(method, url, timeout=REQUEST_TIMEOUT, **kwargs)
    except requests.RequestException as error:
        raise SaleFailed(step, None, error) from error
    if response.status_code not in expected:
        raise SaleFailed(step, response)
    return response


def reserve(session: requests.Session, base: str, headers: dict[str, str]) -> str:
    response = call(session, "POST", f"{base}/v1/reserve-offers", "reserve", (200,), json=RESERVE_BODY,
                    headers=headers)
    order_id: str = response.json()["orderId"]
    return order_id


def whole_sale(session: requests.Session, base: str, headers: dict[str, str] | None = None,
               sale: Sale | None = None) -> Sale:
    """Reserve one seat on the Bergen departure, pay the balance, capture. A failing step ends
    the sale (recorded in ``failed_at``/``failure``), never the caller."""
    headers = headers or auth_headers()
    sale = sale or Sale()
    try:
        sale.order_id = reserve(session, base, headers)
        order = call(session, "GET", f"{base}/v1/orders/{sale.order_id}", "read order", (200,),
                     headers=headers).json()
        payment = call(session, "POST", f"{base}/v1/payments", "create payment", (201,), headers=headers,
                       json={"orderId": sale.order_id, "orderVersion": order["version"],
                             "amount": order["balance"], "currency": "NOK", "paymentType": "VISA"}).json()
        sale.payment_id = payment["id"]
        try:
            captured = session.post(f"{base}/v1/payments/{sale.payment_id}/capture", headers=headers,
                                    timeout=REQUEST_TIMEOUT)
        except requests.RequestException as error:
            raise SaleFailed("capture", None, error) from error
        sale.capture_status = captured.status_code
        if not sale.captured:
            raise SaleFailed("capture", captured)
    except SaleFailed as failure:
        sale.failed_at, sale.failed_status, sale.failure = failure.step, failure.status, str(failure)
    return sale


def publish_demo_catalogue(application: OrderingApplication) -> None:
    application.publish_offers(load_offers(demo_offers(application.clock())))


def every_order(application: OrderingApplication) -> list[Order]:
    """Every order in the event store, read back from its events."""
    orders: list[Order] = []
    start = 1
    while True:
        page = application.recorder.select_notifications(start=start, limit=1000,
                                                         topics=["ordering.domain.order:Order.OrderCreated"])
        for notification in page:
            found: object = application.repository.get(UUID(str(notification.originator_id)))
            assert isinstance(found, Order)
            orders.append(found)
        if len(page) < 1000:
            return orders
        start = page[-1].id + 1


def seats_held_by_active_lines(orders: list[Order],
                               dated_service_journey_id: str) -> dict[str, tuple[str, int]]:
    """reservation id -> (order id, seats), for what the orders' active lines hold on a departure."""
    held: dict[str, tuple[str, int]] = {}
    for order in orders:
        on_departure = {r.id: r for r in order.reservations
                        if r.dated_service_journey_id == dated_service_journey_id}
        for line in order.active_lines:
            for reservation_id in line.reservation_ids:
                if reservation_id in on_departure:
                    held[reservation_id] = (order.code, on_departure[reservation_id].seats)
    return held
