"""A follower meets orders it has not seen lately (made in another process, or long ago: every
order that falls due). On PostgreSQL it reads the state before the batch of all of them in one
query, not one query per order, and projects exactly what loading them one by one gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ordering.application import OrderingApplication
from ordering.bootstrap import Services, build_services
from ordering.demo_catalogue import TRAVELLERS, TRONDHEIM_OFFER
from ordering.domain.reserving import OfferConfiguration
from ordering.settings import Settings
from projections.orders import order_row
from projections.schema import orders_table
from tests.integration.test_ticket_group_follower import (
    CTX,
    assert_exactly_one_live_group_per_line,
    follower,
    stocked,
)


@pytest.fixture
def elsewhere(postgres_settings: Settings, postgres_services: Services) -> Iterator[Services]:
    """A second process on the same store: its caches know nothing of what the first did."""
    stocked(postgres_services)
    built = build_services(postgres_settings)
    yield built
    built.close()


def reserved(app: OrderingApplication, count: int) -> list[str]:
    configuration = [OfferConfiguration(TRONDHEIM_OFFER, TRAVELLERS[:2])]
    return [app.reserve_offers(CTX, None, configuration).order.code for _ in range(count)]


def confirm(app: OrderingApplication, codes: list[str]) -> None:
    for code in codes:
        order = app.get_order(code, 1)
        payment = app.create_payment(CTX, code, order.order_version, order.balance, "VISA")
        app.capture_payment(payment.payment_id, CTX)


def confirmed_after_first_seen(app: OrderingApplication, count: int, see: Callable[[], object]) -> list[str]:
    """Orders reserved, followed (``see``) in the first process, then confirmed there."""
    codes = reserved(app, count)
    see()
    confirm(app, codes)
    return codes


def loads_one_by_one(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    get = services.application.repository.get

    def counted(aggregate_id: Any, **kwargs: Any) -> Any:
        calls.append(aggregate_id)
        return get(aggregate_id, **kwargs)

    monkeypatch.setattr(services.application.repository, "get", counted)
    return calls


@pytest.mark.postgres
def test_orders_read_together_stand_as_loading_each_gives(
    postgres_services: Services, elsewhere: Services
) -> None:
    app = postgres_services.application
    codes = reserved(app, 12)
    confirm(app, codes[:6])
    orders = {app.get_order(code, 1).id: app.get_order(code, 1) for code in codes}
    versions = {order_id: order.version for order_id, order in orders.items()}
    together = elsewhere.application.load_together(versions)
    assert {order_id: order_row(order) for order_id, order in together.items()} == {
        order_id: order_row(order) for order_id, order in orders.items()}
    earlier = {order_id: version - 1 for order_id, version in versions.items()}
    assert {i: o.version for i, o in elsewhere.application.load_together(earlier).items()} == earlier


@pytest.mark.postgres
def test_the_read_model_follower_reads_a_batch_of_unseen_orders_in_one_query(
    postgres_services: Services, elsewhere: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = postgres_services.application
    codes = confirmed_after_first_seen(app, 10, postgres_services.read_model.catch_up)
    one_by_one = loads_one_by_one(elsewhere, monkeypatch)
    elsewhere.read_model.catch_up()
    assert one_by_one == []
    with elsewhere.read_model.database.transaction() as cursor:
        table = orders_table(elsewhere.read_model.projector.active_generation())
        cursor.execute(f"SELECT id, status, balance FROM {table} WHERE id = ANY(?)", (codes,))
        rows = {r[0]: (r[1], r[2]) for r in cursor.fetchall()}
    assert rows == {code: ("CONFIRMED", 0) for code in codes}


@pytest.mark.postgres
def test_the_ticket_group_follower_reads_a_batch_of_unseen_orders_in_one_query(
    postgres_services: Services, elsewhere: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = postgres_services.application
    codes = confirmed_after_first_seen(app, 8, follower(app, batch_size=500).catch_up)
    one_by_one = loads_one_by_one(elsewhere, monkeypatch)
    follower(elsewhere.application, batch_size=500).catch_up()
    assert [c for c in one_by_one if c in {app.get_order(code, 1).id for code in codes}] == []
    assert_exactly_one_live_group_per_line(app, codes)
