"""Wire shapes of the history requests: time travel (``?at=``) and version diffs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ordering.representation.fields import UtcDateTime

VERSION = validate.Range(min=1, max=2**31 - 1)
# In a query string an unescaped "+" arrives as a space: "10:00:00 01:00" meant "10:00:00+01:00".
SPACED_OFFSET = re.compile(r"^(.*\d) (\d{2}:\d{2})$")


class AtTime(UtcDateTime):
    """An RFC 3339 instant with an offset, as a query parameter."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if isinstance(value, str):
            value = SPACED_OFFSET.sub(r"\1+\2", value)
        return super()._deserialize(value, attr, data, **kwargs)


AT_DESCRIPTION = (
    "(ours) the order exactly as it stood at this instant (RFC 3339 with an offset), confirmed or "
    "not, rebuilt from its events. Before the order existed: 404 VERSION_NOT_FOUND; later than "
    "its last event: the current order; together with version: 400.")


def refuse_at_with_version(data: dict[str, Any]) -> None:
    if "at" in data and "version" in data:
        raise ValidationError("at and version cannot be used together", "at")


class ChangesQuery(Schema):
    from_version = fields.Integer(data_key="from", required=True, validate=VERSION, metadata={
        "description": "a confirmed version"})
    to_version = fields.Integer(data_key="to", required=True, validate=VERSION, metadata={
        "description": "a confirmed version, or the current one; above from"})

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["from_version"] >= data["to_version"]:
            raise ValidationError("from must be below to", "from")
