"""A page of the change feed as plain JSON-able data: audit-trail items plus order id and cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from ordering.representation.audit import TrailEntry, trail_entry_json


class FeedEntry(Protocol):
    @property
    def cursor(self) -> str: ...
    @property
    def public_id(self) -> str: ...
    @property
    def entry(self) -> TrailEntry: ...
    @property
    def group_id(self) -> str | None: ...


class FeedPage(Protocol):
    @property
    def entries(self) -> Sequence[FeedEntry]: ...
    @property
    def next_cursor(self) -> str: ...


def feed_item_json(item: FeedEntry) -> dict[str, Any]:
    """An order's event, or one of its ticket distribution groups' (naming the group)."""
    group = {"ticketDistributionGroupId": item.group_id} if item.group_id else {}
    return {"orderId": item.public_id, **group, **trail_entry_json(item.entry), "cursor": item.cursor}


def feed_page_json(page: FeedPage) -> dict[str, Any]:
    return {"items": [feed_item_json(item) for item in page.entries], "next": page.next_cursor}
