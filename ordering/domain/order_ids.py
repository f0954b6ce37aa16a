"""Order ids: 8 readable characters (no I, O, 0, 1) for people, a UUID for the event store."""

from __future__ import annotations

import secrets
from uuid import UUID, uuid5

ORDER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
ORDER_CODE_LENGTH = 8
ORDER_ID_NAMESPACE = UUID("3f0b6f4e-2a55-4c55-9d1c-6a8d1c0e7a11")


def new_order_code() -> str:
    return "".join(secrets.choice(ORDER_CODE_ALPHABET) for _ in range(ORDER_CODE_LENGTH))


def is_order_code(text: str) -> bool:
    return len(text) == ORDER_CODE_LENGTH and all(c in ORDER_CODE_ALPHABET for c in text)


def order_uuid(code: str) -> UUID:
    """The event store keys aggregates by UUID; the public order id maps to one."""
    return uuid5(ORDER_ID_NAMESPACE, code)
