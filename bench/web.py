"""Scenarios over real HTTP: the load generator against a running gunicorn."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench import server
from bench.backend import JWT_SECRET, Backend
from bench.config import Config
from bench.offers import BENCH_SEATS, TRAVELLERS, loaded, sale_offer
from bench.seed import LARGE_ORGANISATION, SeedPlan
from bench.server import run_load
from ordering.bootstrap import Services
from ordering.tokens import TokenKeys


def headers(organisation: int, permissions: list[str] | None = None) -> dict[str, str]:
    token = TokenKeys(JWT_SECRET, None).mint(organisation, "bench-load", permissions or [])
    return {"Authorization": f"Bearer {token}", "ET-Client-Name": "bench-load", "Entur-POS": "Entur-APP",
            "Entur-Distribution-Channel": "ENT:DistributionChannel:Web"}


@dataclass(frozen=True)
class Target:
    port: int
    env: dict[str, str]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def load(self, spec: dict[str, Any], time_limit: float) -> dict[str, Any]:
        spec = {"base_url": self.base_url, "time_limit": time_limit, **spec}
        return run_load(spec, self.env, timeout=time_limit + 120)


@contextmanager
def serving_with_scheduler(backend: Backend, logs: Path) -> Iterator[Target]:
    """The service (``gunicorn --workers 4 --threads 4``) with ``python scheduler.py`` beside it,
    its expiry timer asleep (it makes the ticket groups and stands by for the read model)."""
    env = backend.server_env()
    with server.gunicorn("app:app", env, logs / "service.log", "/health/ready") as (port, _), \
            server.scheduler(env | {"ORDER_EXPIRY_INTERVAL_SECONDS": "3600"}, logs / "followers.log"):
        yield Target(port, env)


def publish_sale_offer(services: Services, tag: str, seats: int = BENCH_SEATS) -> tuple[str, str]:
    """A fresh 899.00 offer whose one leg needs a seat on its own departure of ``seats``."""
    application = services.application
    wire = sale_offer(f"{tag}-{secrets.token_hex(3)}", application.clock())
    application.publish_offers([loaded(wire)])
    journey = wire["legs"][0]["datedServiceJourneyId"]
    application.set_capacity(journey, seats)
    return str(wire["id"]), journey


def sales(target: Target, services: Services, config: Config, clients: int) -> dict[str, Any]:
    """Scenario 1: create, reserve a seat, pay, capture, for ``sale_seconds`` after a warm-up."""
    offer_id, journey = publish_sale_offer(services, f"sale{clients}")
    result = target.load({"scenario": "sale", "clients": clients, "duration": config.sale_seconds,
                          "warmup": config.warmup, **_sale_spec(offer_id)},
                         config.sale_seconds + config.warmup + 60)
    departure = services.application.availability(journey).to_wire()
    result["departure"] = departure | {"journey": journey}
    result["seats"] = seat_check(departure, result["totals"])
    return result


def _sale_spec(offer_id: str) -> dict[str, Any]:
    return {"headers": headers(LARGE_ORGANISATION), "offer_id": offer_id, "price": "899.00",
            "traveller_id": TRAVELLERS[0]}


def changes(target: Target, services: Services, config: Config, clients: int) -> dict[str, Any]:
    """Scenario 2: on confirmed orders, reserve again (version 2), pay, capture; a fixed count."""
    return _fixed_count(target, services, config, clients, "change")


def refunds(target: Target, services: Services, config: Config, clients: int) -> dict[str, Any]:
    """On confirmed orders (sold first, not measured): refund options, then the refund."""
    return _fixed_count(target, services, config, clients, "refund")


def _fixed_count(target: Target, services: Services, config: Config, clients: int,
                 scenario: str) -> dict[str, Any]:
    offer_id, journey = publish_sale_offer(services, f"{scenario}{clients}")
    count = min(config.change_count, clients * config.changes_per_client)
    result = target.load({"scenario": scenario, "clients": clients, "count": count, **_sale_spec(offer_id)},
                         300.0)
    result["departure"] = services.application.availability(journey).to_wire() | {"journey": journey}
    return result


def sellout(target: Target, services: Services, config: Config) -> dict[str, Any]:
    """The whole sale from ``sellout_clients`` clients on one departure of ``sellout_seats``
    seats, until it answers ``NO_AVAILABILITY`` (or ``sellout_seconds`` pass); no warm-up."""
    offer_id, journey = publish_sale_offer(services, "sellout", config.sellout_seats)
    result = target.load({"scenario": "sellout", "clients": config.sellout_clients,
                          "duration": config.sellout_seconds, "warmup": 0.0, **_sale_spec(offer_id)},
                         config.sellout_seconds + 60)
    departure = services.application.availability(journey).to_wire()
    result["departure"] = departure | {"journey": journey}
    result["seats"] = seat_check(departure, result["totals"])
    return result


def seat_check(departure: dict[str, int], totals: dict[str, int]) -> dict[str, int]:
    """Seats held by the departure and by the orders (successful reservations), against its
    capacity; every 409 of the run, and those not ``NO_AVAILABILITY`` (spurious)."""
    conflicts = {label: n for label, n in totals.items() if " HTTP 409" in label}
    spurious = sum(n for label, n in conflicts.items() if not label.endswith("NO_AVAILABILITY"))
    reserved_by_orders = totals.get("reserve offer", 0)
    return {"capacity": departure["capacity"], "held": departure["reserved"],
            "reserved_by_orders": reserved_by_orders,
            "oversold": max(0, departure["reserved"] - departure["capacity"],
                            reserved_by_orders - departure["capacity"]),
            "conflicts": sum(conflicts.values()), "spurious_conflicts": spurious}


def read_your_writes(target: Target, config: Config, clients: int) -> dict[str, Any]:
    """Create an order, then at once search for it by its ``createdAt`` (the indexed millisecond
    around it): seen or not, and that search's time beside the same search again (the
    difference: the wait for the follower)."""
    return target.load({"scenario": "written", "clients": clients, "duration": config.search_seconds,
                        "warmup": 1.0, "headers": headers(LARGE_ORGANISATION)}, config.search_seconds + 120)


def stamp(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def search_queries(plan: SeedPlan) -> dict[str, str]:
    """Queries of the large organisation aimed at the seeded data."""
    day = plan.day_at(0.5)
    journeys = plan.journeys_on(day, 5)
    one_day = [f"gte:{stamp(day)}", f"lt:{stamp(day + timedelta(days=1))}"]
    queries: dict[str, dict[str, str | list[str]]] = {
        "status+createdAt (1 day)": {"status": "DRAFT", "createdAt": one_day},
        "leg datedServiceJourneyId": {"datedServiceJourneyId": journeys[0]},
        "in list (5 journeys)": {"datedServiceJourneyId": "in:" + ",".join(journeys)},
        "deep page 1000 (CONFIRMED)": {"status": "CONFIRMED", "page": "1000"},
        "deep page 10000 (all)": {"page": "10000"},
        "newest first (all)": {"orderBy": "createdAt", "sortBy": "desc"},
    }
    return {name: "/v1/orders?" + urlencode(query, doseq=True, safe=":,") for name, query in queries.items()}


def searches(target: Target, config: Config, plan: SeedPlan) -> dict[str, list[dict[str, Any]]]:
    """Scenario 3: each query alone, at each search concurrency, for ``search_seconds``."""
    results: dict[str, list[dict[str, Any]]] = {}
    for name, path in search_queries(plan).items():
        for clients in config.search_concurrency:
            result = target.load({"scenario": "search", "clients": clients, "path": path,
                                  "duration": config.search_seconds, "warmup": 1.0,
                                  "headers": headers(LARGE_ORGANISATION)}, config.search_seconds + 120)
            results.setdefault(name, []).append(result | {"path": path})
    return results


def bare_inserts(target: Target, config: Config, clients: int) -> dict[str, Any]:
    """Baseline (b): the same load generator against the bare Flask insert endpoint."""
    return target.load({"scenario": "bare", "clients": clients, "duration": config.sale_seconds,
                        "warmup": config.warmup}, config.sale_seconds + config.warmup + 60)
