"""An order's audit trail as plain JSON-able data, for the HTTP answer and the CLI alike."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

TIMELINE_WIDTH = 100
DATA_INDENT = " " * 10
ENVELOPE_FIELDS = {"originator_id", "originator_version", "originator_topic", "timestamp", "context"}
_SNAKE = re.compile(r"_([a-z0-9])")


class TrailEntry(Protocol):
    """One event of an order's history with the order's business version after it."""

    @property
    def sequence(self) -> int: ...
    @property
    def event(self) -> Any: ...
    @property
    def order_version(self) -> int: ...


def camel(name: str) -> str:
    return _SNAKE.sub(lambda m: m.group(1).upper(), name.lstrip("_"))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain(value: Any) -> Any:
    """Decimal, datetime and UUID as the contract writes them; keys in camelCase."""
    if hasattr(value, "to_wire"):  # a domain value object: its one wire form
        return plain(value.to_wire())
    if isinstance(value, dict):
        return {camel(str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, UUID):
        return str(value)
    return value


def trail_entry_json(entry: TrailEntry) -> dict[str, Any]:
    attributes = vars(entry.event)
    return {
        "sequence": entry.sequence,
        "type": type(entry.event).__name__,
        "occurredAt": utc_text(attributes["timestamp"]),
        "orderVersion": entry.order_version,
        "data": plain({k: v for k, v in attributes.items() if k not in ENVELOPE_FIELDS}),
        "context": plain(attributes.get("context") or {}),
    }


def trail_json(order_id: str, entries: Sequence[TrailEntry]) -> dict[str, Any]:
    return {"orderId": order_id, "events": [trail_entry_json(e) for e in entries]}


def timeline_lines(trail: dict[str, Any]) -> list[str]:
    """A readable timeline for terminals: one line per event, then its data."""
    lines = [f"Order {trail['orderId']}: {len(trail['events'])} events"]
    for e in trail["events"]:
        who = e["context"].get("clientName") or e["context"].get("subject") or "-"
        lines.append(
            f"{e['sequence']:>4}  {e['occurredAt']}  v{e['orderVersion']:<3} {e['type']:<16} "
            f"by {who} (correlation {e['context'].get('correlationId')})"
        )
        for key, value in e["data"].items():
            lines.extend(_wrapped(f"{key}: {json.dumps(value, ensure_ascii=False)}"))
    return lines


def _wrapped(text: str) -> list[str]:
    """One data field as JSON, folded to the terminal's width (continuations indented further)."""
    return textwrap.wrap(text, TIMELINE_WIDTH, initial_indent=DATA_INDENT,
                         subsequent_indent=DATA_INDENT + "  ", break_on_hyphens=False,
                         break_long_words=False) or [DATA_INDENT]
