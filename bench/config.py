"""Sizes and durations of a run: the full run, or ``BENCH_QUICK=1`` for a smoke run."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    quick: bool
    orders: int  # orders in the read model the searches run on
    rebuild_events: int  # at least this many events go through maintenance.rebuild
    concurrency: tuple[int, ...] = (1, 8, 32)
    search_concurrency: tuple[int, ...] = (1, 8)
    refund_concurrency: tuple[int, ...] = (1, 8)
    sellout_clients: int = 32  # the whole sale on one small departure, until it is sold out
    sellout_seats: int = 500
    sellout_seconds: float = 60.0
    warmup: float = 3.0
    sale_seconds: float = 15.0
    change_count: int = 600  # changes per concurrency level (a fixed count) ...
    changes_per_client: int = 50  # ... but at most this many per client
    search_seconds: float = 6.0
    baseline_seconds: float = 5.0
    history_events: int = 1000
    history_loads: int = 30
    expiry_orders: int = 10_000
    expiry_lead_seconds: float = 60.0  # orders fall due this long after their seeding starts
    expiry_time_limit: float = 300.0

    @classmethod
    def from_env(cls) -> Config:
        if os.environ.get("BENCH_QUICK", "") not in ("", "0"):
            return cls(quick=True, orders=50_000, rebuild_events=100_000, warmup=1.0, sale_seconds=5.0,
                       change_count=90, changes_per_client=15, search_seconds=3.0, baseline_seconds=3.0,
                       sellout_seconds=30.0, history_loads=10, expiry_orders=2_000, expiry_lead_seconds=25.0,
                       expiry_time_limit=120.0)
        return cls(quick=False, orders=1_000_000, rebuild_events=1_000_000)
