"""The benchmark's own arithmetic: seats against capacity, targets beside baselines, profiles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.config import Config
from bench.profile import breakdown
from bench.targets import evaluate, table
from bench.web import seat_check

CONFIG = Config(quick=True, orders=10, rebuild_events=10)


def latency(p50: float, p99: float, count: int = 100) -> dict[str, Any]:
    return {"count": count, "p50_ms": p50, "p95_ms": p99, "p99_ms": p99, "max_ms": p99}


def sale(throughput: float) -> dict[str, Any]:
    return {"clients": 8, "throughput": throughput, "requests_per_second": throughput * 4, "operations": 10,
            "seconds": 5.0, "main": "whole sale", "failures": {"reserve offer HTTP 409 NO_AVAILABILITY": 1},
            "latency": {"all requests": latency(10, 40), "whole sale": latency(40, 90)},
            "group_lag": latency(100, 200)}


def details() -> dict[str, Any]:
    bare = {str(c): {"throughput": 1000.0, "latency": {"bare insert": latency(2, 9)}} for c in (1, 8, 32)}
    searches = {name: [{"clients": c, "samples": {"totalItems": 7}, "latency": {"search": latency(5, 8)}}
                       for c in (1, 8)]
                for name in ("status+createdAt (1 day)", "leg datedServiceJourneyId", "newest first (all)")}
    written = {"8": {"failures": {}, "seconds": 3.0,
                     "latency": {"search after write": latency(9, 30), "search again": latency(6, 20)}}}
    return {"baselines": {"bare": bare | {"memory": {"max_mb": 40.0}}},
            "service": {"sales": {"1": sale(160), "8": sale(160), "32": sale(160)},
                        "changes": {"8": sale(50)}, "refunds": {"8": sale(70)}, "searches": searches,
                        "read_your_writes": written,
                        "search_totals": {"newest first (all)": {"answered": [7], "counted": 7,
                                                                 "exact": True}},
                        "memory": {"max_mb": 120.0, "workers_mb": {"1": 120.0}},
                        "sellout": sale(170) | {"seats": seat_check(
                            {"capacity": 500, "reserved": 500},
                            {"reserve offer": 500, "reserve offer HTTP 409 NO_AVAILABILITY": 31})}},
            "read_model": {"rebuild": {"events": 100, "throughput": 40_000.0},
                           "decode": {"events": 100, "throughput": 80_000.0}},
            "expiry": {"orders": 10, "expired": 10, "throughput": 5.0, "lag": latency(500, 1500, 10)}}


def test_sold_out_answers_are_not_spurious_conflicts_and_nothing_is_oversold() -> None:
    seats = seat_check({"capacity": 500, "reserved": 500},
                       {"reserve offer": 500, "reserve offer HTTP 409 NO_AVAILABILITY": 31,
                        "reserve offer HTTP 409 CONCURRENT_MODIFICATION": 2})
    assert seats["conflicts"] == 33 and seats["spurious_conflicts"] == 2 and seats["oversold"] == 0


def test_more_reservations_than_seats_count_as_oversold() -> None:
    assert seat_check({"capacity": 10, "reserved": 10}, {"reserve offer": 12})["oversold"] == 2


def test_every_target_is_reported_beside_its_baseline_with_met_or_not() -> None:
    found = evaluate(details(), CONFIG)
    assert len(found) == 12
    assert all(target["met"] is not None for target in found), [t for t in found if t["met"] is None]
    by_name = {target["name"]: target for target in found}
    assert by_name["whole sale, 8 clients"]["met"] is True
    assert "(b) bare Flask insert, 8 clients: 1,000 req/s" in by_name["whole sale, 8 clients"]["baseline"]
    assert by_name["sale requests / bare Flask insert"]["met"] is True  # 640 / 1000
    assert by_name["selective search (a day, a departure), 8 clients"]["met"] is True
    assert by_name["broad search (deep page, newest first), 1 client"]["met"] is False  # 7 matches, not 500k
    assert "Issue 16's targets" in table(found)


def test_a_scenario_that_did_not_run_is_reported_as_not_measured() -> None:
    partial = details()
    del partial["service"]["refunds"]
    found = {target["name"]: target for target in evaluate(partial, CONFIG)}
    assert found["refund"]["met"] is None and "not measured" in found["refund"]["note"]


def test_a_profile_breakdown_counts_database_waits_and_leaves_idle_threads_out(tmp_path: Path) -> None:
    collapsed = tmp_path / "sale.collapsed"
    request = "Flask.__call__ (flask/app.py:1);ReserveOffers.post (ordering/http/sales.py:1)"
    wait = "Connection.wait (psycopg/connection.py:1)"
    collapsed.write_text(
        f"{request};Application.save (eventsourcing/application.py:1);{wait} 3\n"
        f"{request};Repository.get (eventsourcing/application.py:1);decode (x.py:1) 1\n"
        "Thread.run (threading.py:1);Condition.wait (threading.py:331) 50\n")
    text = breakdown(collapsed)
    assert text.startswith("4 busy samples; 75% wait on PostgreSQL")
    assert "| saving (Application.save: events under the table lock) | 75.0% | 75.0% |" in text
    assert "| `ReserveOffers.post` | 100.0% |" in text
