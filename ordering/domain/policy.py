"""Tunable business timings and limits (configuration, not code)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_EXPIRE_AHEAD = timedelta(days=183)


@dataclass(frozen=True)
class OrderPolicy:
    draft_ttl: timedelta = timedelta(minutes=20)
    lock_timeout: timedelta = timedelta(minutes=10)
    refund_option_ttl: timedelta = timedelta(minutes=15)
    command_attempts: int = 8  # after a version conflict; the waits between double from 5 ms
    default_currency: str = "NOK"


def utcnow() -> datetime:
    return datetime.now(UTC)
