"""Feed cursors and the feed's one precondition, without a store."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ordering.application.feed import ChangeFeed, decode_cursor, encode_cursor
from ordering.domain.errors import InvalidRequest


def test_a_cursor_names_its_position_for_its_organisation_only() -> None:
    cursor = encode_cursor(7, 12345)
    assert decode_cursor(cursor, 7) == 12345
    with pytest.raises(InvalidRequest, match="another organisation"):
        decode_cursor(cursor, 8)


@pytest.mark.parametrize("text", ["", ".", "end2", "NS4x", "Ny4xMjM0NQ", "Ny4xMjM0NQ.deadbeef", "Ny4tMQ.x",
                                  "ä.ö", "=" * 10])
def test_a_malformed_or_altered_cursor_is_refused_naming_after(text: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        decode_cursor(text, 7)
    assert refused.value.field == "after"


def test_the_feed_refuses_a_store_whose_writers_skip_the_insert_lock() -> None:
    recorder = SimpleNamespace(datastore=SimpleNamespace(enable_db_functions=True))
    with pytest.raises(RuntimeError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
        ChangeFeed(SimpleNamespace(recorder=recorder, mapper=None, repository=None))
