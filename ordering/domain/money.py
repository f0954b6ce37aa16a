"""Money is an exact Decimal with two places; it crosses the wire as a string."""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONEY_PATTERN = re.compile(r"^-?\d{1,12}\.\d{2}$")


def parse_money(text: str) -> Decimal:
    """Parse "100.00"; raise ValueError for anything that is not exactly that shape."""
    if not isinstance(text, str) or not MONEY_PATTERN.match(text):
        raise ValueError("must be a string with exactly two decimals, e.g. \"100.00\"")
    return Decimal(text)


def format_money(amount: Decimal) -> str:
    return str(amount.quantize(CENT))


def total(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO).quantize(CENT)
