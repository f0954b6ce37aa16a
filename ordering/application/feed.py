"""The change feed: every event of one organisation's orders, in store order, paged by cursor.

Why a client that pages with ``next`` sees every event exactly once, with no gap:

- A cursor is a position in the notification log (plus the organisation it belongs to). A page
  holds the organisation's events with positions after it, in position order, and ``next`` is a
  position the page has read *everything* up to.
- A page never reads past the log's head as it was sampled *before* reading, and positions at or
  below a sampled head never change afterwards: every writer takes the event table's lock, so
  notification ids are handed out and committed in the same order (eventsourcing's PostgreSQL
  recorder: ``LOCK TABLE ... IN EXCLUSIVE MODE`` on each insert; SQLite has one writer at a
  time). A row with a lower id than the head is therefore committed before the head is read.
  With ``POSTGRES_ENABLE_DB_FUNCTIONS`` the library drops that lock; the feed refuses to run then.
- Ids can have gaps (a rolled-back insert uses one up): gaps are never filled later, and a page
  never waits for one.

An empty page answers the cursor it was asked with (contract), so a quiet organisation polls
from one position while others write: how far each such cursor is known to have nothing is kept,
and each stretch of the log is read once per process, not at every poll.

Owners: the organisation of an order is in its ``OrderCreated`` event; it never changes, so it is
kept in memory once read (from the page itself, or one stored event read per unknown order).
Each item's ``orderVersion`` comes from folding the events onto the order's state, kept per order
between pages, so an aggregate is loaded at most once per order, never per event.

Ticket distribution groups join as their own ``FeedKind`` (items name the group).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import Notification

from ordering.application.sales import TrailEntry
from ordering.application.topics import topic_prefixes
from ordering.domain.errors import InvalidRequest
from ordering.domain.order import Order
from ordering.domain.ticketing import TicketDistributionGroup

END = "end"
MAX_LIMIT = 100
MAX_WAIT_SECONDS = 30
SCAN_BATCH = 1000
POLL_SECONDS = 0.2
OWNERS_CACHED = 200_000
STATES_CACHED = 2_000
QUIET_CURSORS_CACHED = 10_000
CURSOR_FIELD = "after"


class FeedStore(Protocol):
    """What the feed needs of the application (``Application`` has it)."""

    @property
    def recorder(self) -> Any: ...
    @property
    def mapper(self) -> Any: ...
    @property
    def repository(self) -> Any: ...


def event_topics(aggregate_class: type) -> tuple[str, ...]:
    """Every topic an aggregate's events have been stored under (classes added later too)."""
    names = [name for name, value in vars(aggregate_class).items()
             if inspect.isclass(value) and hasattr(value, "mutate")]
    return tuple(f"{prefix}{name}" for prefix in topic_prefixes(aggregate_class) for name in names)


class FeedKind:
    """One kind of aggregate an organisation owns, in the feed: its events' topics, where its
    owner and order are in its first event, and the order version an item names. Ticket
    distribution groups join as another kind (their first event names organisation and order)."""

    def __init__(self, aggregate_class: type) -> None:
        self.topics = event_topics(aggregate_class)

    def owner(self, first_event: Any) -> tuple[int, str]:
        """(organisation id, public order id)."""
        return int(first_event.organisation_id), str(first_event.code)

    def order_version(self, state: Any) -> int:
        return int(state.order_version)


    def group_id(self, notification: Notification) -> str | None:
        """The ticket distribution group an item is about (None: the order itself)."""
        return None


class TicketGroupKind(FeedKind):
    """Ticket distribution groups: their first event names the organisation and the order."""

    def owner(self, first_event: Any) -> tuple[int, str]:
        return int(first_event.organisation_id), str(first_event.order_code)

    def group_id(self, notification: Notification) -> str | None:
        return str(notification.originator_id)


ORDERS = FeedKind(Order)
TICKET_GROUPS = TicketGroupKind(TicketDistributionGroup)


@dataclass(frozen=True)
class FeedEntry:
    cursor: str  # the position right after this event: a page asked with it starts after it
    public_id: str
    entry: TrailEntry
    group_id: str | None = None


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    next_cursor: str


def encode_cursor(organisation_id: int, position: int) -> str:
    payload = f"{organisation_id}.{position}"
    text = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{text}.{_check(payload)}"


def decode_cursor(cursor: str, organisation_id: int) -> int:
    """The position a cursor names; 400 for a malformed one or another organisation's."""
    text, _, check = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        owner, position = (int(part) for part in payload.split("."))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("after is not a cursor of this feed", CURSOR_FIELD) from None
    if check != _check(payload) or position < 0:
        raise InvalidRequest("after is not a cursor of this feed", CURSOR_FIELD)
    if owner != organisation_id:
        raise InvalidRequest("after is a cursor of another organisation's feed", CURSOR_FIELD)
    return position


def _check(payload: str) -> str:
    return hashlib.sha256(f"order-feed:{payload}".encode()).hexdigest()[:8]


class ChangeFeed:
    def __init__(self, store: FeedStore, kinds: Sequence[FeedKind] = (ORDERS, TICKET_GROUPS)) -> None:
        datastore = getattr(store.recorder, "datastore", None)
        if getattr(datastore, "enable_db_functions", False):
            raise RuntimeError("the change feed needs the event table's insert lock: "
                               "unset POSTGRES_ENABLE_DB_FUNCTIONS")
        self.store = store
        self.kinds = kinds
        self.topics = [topic for kind in kinds for topic in kind.topics]
        self._kind_of = {topic: kind for kind in kinds for topic in kind.topics}
        self._owners: OrderedDict[UUID, tuple[int, str]] = OrderedDict()
        self._states: OrderedDict[UUID, Any] = OrderedDict()
        self._quiet: OrderedDict[tuple[int, int], int] = OrderedDict()
        self._lock = threading.Lock()
        self._arrived = threading.Condition()

    def wake(self, _saved: Sequence[Any] = ()) -> None:
        """Called after each save in this process: waiting pages look again at once."""
        with self._arrived:
            self._arrived.notify_all()

    def page(self, organisation_id: int, after: str | None, limit: int = MAX_LIMIT,
             wait_seconds: float = 0) -> FeedPage:
        head = self._head()
        if after == END:
            position = head
        elif after is None:
            position = 0
        else:
            position = decode_cursor(after, organisation_id)
            if position > head:
                raise InvalidRequest("after is not a cursor of this feed (beyond its end)", CURSOR_FIELD)
        asked = (organisation_id, position)
        position = max(position, self._quiet_up_to(asked))
        deadline = time.monotonic() + min(wait_seconds, MAX_WAIT_SECONDS)
        while True:
            entries, position = self._scan(organisation_id, position, head, limit)
            remaining = deadline - time.monotonic()
            if entries or remaining <= 0:
                break
            with self._arrived:
                self._arrived.wait(min(POLL_SECONDS, remaining))
            head = self._head()
        if not entries and after not in (None, END):
            self._remember_quiet(asked, position)
            return FeedPage([], after)  # an empty page answers the cursor it was asked with
        return FeedPage(entries, encode_cursor(organisation_id, position))

    def _quiet_up_to(self, asked: tuple[int, int]) -> int:
        """An empty page answers the cursor it was asked with, so a quiet organisation asks
        from the same position again and again: how far it is known to have nothing (positions
        read once never change), so each stretch of the log is read once, not at every poll."""
        with self._lock:
            return self._quiet.get(asked, 0)

    def _remember_quiet(self, asked: tuple[int, int], position: int) -> None:
        with self._lock:
            self._quiet[asked] = max(position, self._quiet.get(asked, 0))
            self._quiet.move_to_end(asked)
            _trim(self._quiet, QUIET_CURSORS_CACHED)

    def _head(self) -> int:
        return int(self.store.recorder.max_notification_id() or 0)

    def _scan(self, organisation_id: int, position: int, head: int,
              limit: int) -> tuple[list[FeedEntry], int]:
        """The organisation's events after ``position`` up to ``head``, at most ``limit``; and
        the position read up to (the last item's when the page is full, else ``head``)."""
        entries: list[FeedEntry] = []
        while position < head:
            notifications = self.store.recorder.select_notifications(
                start=position, limit=SCAN_BATCH, stop=head, topics=self.topics,
                inclusive_of_start=False)
            for notification in notifications:
                owner, public_id = self._owner(notification)
                if owner == organisation_id:
                    entries.append(self._entry(notification, organisation_id, public_id))
                    if len(entries) == limit:
                        return entries, notification.id
            if len(notifications) < SCAN_BATCH:
                return entries, head
            position = notifications[-1].id
        return entries, max(position, head)

    def _owner(self, notification: Notification) -> tuple[int, str]:
        aggregate_id = UUID(str(notification.originator_id))
        with self._lock:
            known = self._owners.get(aggregate_id)
        if known is not None:
            return known
        kind = self._kind_of[notification.topic]
        if notification.originator_version == 1:
            first = self.store.mapper.to_domain_event(notification)
        else:
            stored = self.store.recorder.select_events(aggregate_id, lte=1)
            first = self.store.mapper.to_domain_event(stored[0])
        owner = kind.owner(first)
        with self._lock:
            self._owners[aggregate_id] = owner
            _trim(self._owners, OWNERS_CACHED)
        return owner

    def _entry(self, notification: Notification, organisation_id: int, public_id: str) -> FeedEntry:
        domain_event = self.store.mapper.to_domain_event(notification)
        state = self._fold(UUID(str(notification.originator_id)), notification.originator_version,
                           domain_event)
        kind = self._kind_of[notification.topic]
        trail_entry = TrailEntry(notification.originator_version, domain_event, kind.order_version(state))
        return FeedEntry(encode_cursor(organisation_id, notification.id), public_id, trail_entry,
                         kind.group_id(notification))

    def _fold(self, aggregate_id: UUID, event_version: int, domain_event: Any) -> Any:
        """The aggregate after this event: the kept state one event before it, moved on by it
        (loaded from the store, snapshots and all, only when none is kept)."""
        with self._lock:
            state = self._states.pop(aggregate_id, None)
        if state is None or state.version != event_version - 1:
            state = (None if event_version == 1
                     else self.store.repository.get(aggregate_id, version=event_version - 1))
        state = _mutate(domain_event, state)
        with self._lock:
            self._states[aggregate_id] = state
            _trim(self._states, STATES_CACHED)
        return state


def _mutate(domain_event: Any, state: Any) -> Any:
    mutable: CanMutateAggregate[UUID] = domain_event
    return mutable.mutate(state)


def _trim(cache: OrderedDict[Any, Any], size: int) -> None:
    while len(cache) > size:
        cache.popitem(last=False)


class FeedQueries(Application[UUID]):
    """The feed of the application's store, one per application (and so per process)."""

    _feed: ChangeFeed | None = None
    _feed_lock = threading.Lock()

    @property
    def change_feed(self) -> ChangeFeed:
        if self._feed is None:
            with self._feed_lock:
                if self._feed is None:
                    feed = ChangeFeed(self)
                    self._listen(feed)
                    self._feed = feed
        return self._feed

    def _listen(self, feed: ChangeFeed) -> None:
        listeners = getattr(self, "after_save", None)
        if listeners is not None:
            listeners.append(feed.wake)

    def order_events(self, organisation_id: int, after: str | None, limit: int = MAX_LIMIT,
                     wait_seconds: float = 0) -> FeedPage:
        return self.change_feed.page(organisation_id, after, limit, wait_seconds)
