"""How the order's value objects are stored in events: each as its contract wire form."""

from __future__ import annotations

import re
from typing import Any

from eventsourcing.persistence import JSONTranscoder, Transcoding

from ordering.domain.values import VALUE_TYPES


class ValueAsWire(Transcoding):
    """A value object as its ``to_wire()`` JSON, read back with ``from_wire``."""

    def __init__(self, value_type: type[Any]) -> None:
        self.type = value_type
        self.value_type: Any = value_type
        self.name = re.sub(r"(?<!^)(?=[A-Z])", "_", value_type.__name__).lower()

    def encode(self, obj: Any) -> Any:
        return obj.to_wire()

    def decode(self, data: Any) -> Any:
        return self.value_type.from_wire(data)


def register_value_transcodings(transcoder: JSONTranscoder) -> None:
    for value_type in VALUE_TYPES:
        transcoder.register(ValueAsWire(value_type))
