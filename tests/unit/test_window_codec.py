"""The Redis window's items: what is encoded comes back equal; anything else is unreadable."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from adapters.redis.window_codec import (
    UnreadableWindow,
    decode_message,
    decode_window,
    encode_header,
    encode_message,
)
from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.window import CachedWindow

CID = uuid4()


def full_message() -> Message:
    return Message(
        conversation_id=CID,
        role=Role.ASSISTANT,
        content="Zoë 天",
        tool_calls=[{"id": "c1", "name": "t", "args": {"x": 1}}],
        tool_call_id="c0",
        token_count=7,
        status=MessageStatus.FAILED,
        error={"code": "LLM_ERROR", "message": "m"},
        usage={"input_tokens": 3},
        metadata={"k": "v"},
        created_at=datetime(2026, 12, 6, 12, 0, 1, 5, tzinfo=UTC),
    )


def test_a_window_round_trips_every_field() -> None:
    window = CachedWindow([full_message(), Message(CID, Role.USER, "hi")], "sum", 4)
    items = [encode_header(window), *(encode_message(m) for m in window.messages)]

    assert decode_window(items) == window
    assert decode_window([i.decode() for i in items]) == window  # str items too
    assert decode_message(items[1]) == window.messages[0]


def test_no_items_is_no_window_and_a_repeated_message_is_kept_once() -> None:
    first, second = Message(CID, Role.USER, "a"), Message(CID, Role.ASSISTANT, "b")
    items = [encode_header(CachedWindow()), *map(encode_message, (first, second, first))]

    assert decode_window([]) is None
    window = decode_window(items)
    assert window is not None and window.messages == [first, second]


@pytest.mark.parametrize(
    "item",
    [
        b"not json",
        b"",
        b"[]",
        b"1",
        encode_message(Message(CID, Role.USER, "a"))
        + b","
        + encode_message(Message(CID, Role.USER, "b")),
        encode_message(Message(CID, Role.USER, "a")).replace(b'"user"', b'"martian"'),
        encode_message(Message(CID, Role.USER, "a")).replace(b"}", b',"status":"lost"}'),
    ],
)
def test_an_item_that_is_not_one_encoded_message_makes_the_window_unreadable(item: bytes) -> None:
    good = encode_message(Message(CID, Role.USER, "ok"))
    with pytest.raises(UnreadableWindow):
        decode_window([encode_header(CachedWindow()), good, item])
