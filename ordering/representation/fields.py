"""marshmallow fields for the contract's wire formats: money strings, UTC times, string maps."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, fields

from ordering.domain.money import format_money, parse_money

IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


class Money(fields.Field[Decimal]):
    """A non-negative amount as a string with exactly two decimals: ``"100.00"``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else format_money(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            amount = parse_money(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None
        if amount < 0:
            raise ValidationError("may not be negative")
        return amount


class UtcDateTime(fields.DateTime):
    """RFC 3339 with an offset on the way in; UTC with ``Z`` on the way out."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return str(value.astimezone(UTC).isoformat().replace("+00:00", "Z"))

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > 64:
            raise ValidationError("must be an RFC 3339 time with an offset")
        try:
            parsed = super()._deserialize(value, attr, data, **kwargs)
            if parsed.tzinfo is None:
                raise ValidationError("must carry a UTC offset, e.g. 2026-11-22T10:00:00Z")
            return parsed.astimezone(UTC)
        except OverflowError:
            raise ValidationError("is out of range") from None


class StringMap(fields.Dict):
    """A small JSON object of camelCase keys to string values (contact info and the like)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            keys=fields.String(validate=_identifier),
            values=fields.String(allow_none=True, validate=_bounded_text),
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict) and len(value) > 20:
            raise ValidationError("may hold at most 20 entries")
        return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]


def _identifier(key: str) -> None:
    if not IDENTIFIER.match(key):
        raise ValidationError("keys must be camelCase identifiers")


def _bounded_text(text: str | None) -> None:
    if text is not None and len(text) > 500:
        raise ValidationError("may be at most 500 characters")


def strict_boolean(**kwargs: Any) -> fields.Boolean:
    """Only JSON ``true``/``false``: not "yes", 1 or "on" (a value of the wrong type is a 400)."""
    return fields.Boolean(truthy={True}, falsy={False}, **kwargs)
