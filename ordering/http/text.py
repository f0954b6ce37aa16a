"""What text a request may carry: no NUL, no control characters, no lone surrogates.

Checked once at the boundary for every string of the body (keys included), the query and the
path, so nothing a store or a read model cannot hold (PostgreSQL text cannot hold NUL) gets in.
Tab and newline are allowed in free-text fields only. The walk also bounds how many values one
body may hold, so a huge object is refused before any schema spends time on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ordering.http.problems import ApiProblem

# C0 controls, DEL, C1 controls and lone surrogates (JSON's "\ud800" parses to one).
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
CONTROL_IN_FREE_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
FREE_TEXT_FIELDS = frozenset({"reason", "name", "externalReference", "contactInfo", "specialOrderCause"})
MAX_BODY_VALUES = 20_000


def check_body_text(body: Any) -> None:
    """Refuse (400, naming the field) a body with bad text or more values than we take."""
    counted = 0
    stack: list[tuple[str, Any, bool]] = [("", body, False)]
    while stack:
        path, value, free_text = stack.pop()
        counted += 1
        if counted > MAX_BODY_VALUES:
            raise ApiProblem(400, f"The body holds more than {MAX_BODY_VALUES} values", "body")
        if isinstance(value, str):
            _check_text(value, path or "body", free_text)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                name = _child(path, str(key))
                _check_text(str(key), name, free_text=False)
                stack.append((name, item, free_text or key in FREE_TEXT_FIELDS))
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}" if path else str(index), item, free_text)
                         for index, item in enumerate(value))


def check_parameters_text(parameters: Iterable[tuple[str, str]]) -> None:
    """Query and path parameters: no control characters at all."""
    for name, value in parameters:
        _check_text(name, "query", free_text=False)
        _check_text(str(value), name, free_text=False)


def _check_text(text: str, field: str, free_text: bool) -> None:
    pattern = CONTROL_IN_FREE_TEXT if free_text else CONTROL
    found = pattern.search(text)
    if found is not None:
        character = f"U+{ord(found.group()):04X}"
        raise ApiProblem(400, f"{_printable(field)} may not contain the control character {character}",
                         _printable(field))


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _printable(field: str) -> str:
    """A field name fit to echo back, whatever the client sent as a key."""
    return CONTROL.sub("?", field)[:200]
