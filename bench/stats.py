"""Latency summaries: nearest-rank percentiles in milliseconds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(seconds: Sequence[float]) -> dict[str, Any]:
    """count, mean, p50, p95, p99 and max of latencies given in seconds, reported in ms."""
    values = sorted(seconds)
    if not values:
        return {"count": 0}
    ms = 1000.0
    return {"count": len(values), "mean_ms": sum(values) / len(values) * ms,
            "p50_ms": percentile(values, 0.50) * ms, "p95_ms": percentile(values, 0.95) * ms,
            "p99_ms": percentile(values, 0.99) * ms, "max_ms": values[-1] * ms}
