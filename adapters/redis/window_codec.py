"""The cached window as Redis list items: a header, then one JSON object per message.

Compact and exact: a message is the JSON of its dataclass fields, UUIDs and datetimes as
strings (ISO 8601 keeps the offset), fields at their default left out. The header carries
a format version: an item this code cannot read makes the whole window a miss (the
caller rebuilds it from the database), never a half-read one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.conversations.models import Message, MessageStatus, Role
from domain.memory.window import CachedWindow

FORMAT_VERSION = 1


class UnreadableWindow(ValueError):
    """A cached item in a format this code does not know (or corrupt)."""


def encode_header(window: CachedWindow) -> bytes:
    return _dumps({"v": FORMAT_VERSION, "summary": window.summary, "n": window.summarized_count})


def encode_message(m: Message) -> bytes:
    item: dict[str, Any] = {
        "id": str(m.id),
        "conversation_id": str(m.conversation_id),
        "role": m.role.value,
        "content": m.content,
        "created_at": m.created_at.isoformat(),
    }
    if m.tool_calls:
        item["tool_calls"] = m.tool_calls
    if m.tool_call_id is not None:
        item["tool_call_id"] = m.tool_call_id
    if m.token_count:
        item["token_count"] = m.token_count
    if m.status is not MessageStatus.OK:
        item["status"] = m.status.value
    if m.error is not None:
        item["error"] = m.error
    if m.usage:
        item["usage"] = m.usage
    if m.metadata:
        item["metadata"] = m.metadata
    return _dumps(item)


def decode_window(items: Sequence[bytes | str]) -> CachedWindow | None:
    """The window from LRANGE's answer; None if there is none. A message id seen twice
    (an append retried after a lost reply) is kept once, at its first place."""
    if not items:
        return None
    try:
        header = json.loads(items[0])
        if not isinstance(header, dict) or header.get("v") != FORMAT_VERSION:
            raise UnreadableWindow("unknown window format")
        messages: list[Message] = []
        seen: set[UUID] = set()
        for raw in items[1:]:
            message = decode_message(raw)
            if message.id not in seen:
                seen.add(message.id)
                messages.append(message)
        return CachedWindow(messages, header.get("summary"), int(header.get("n", 0)))
    except (ValueError, TypeError, KeyError) as exc:
        raise UnreadableWindow(str(exc)) from exc


def decode_message(raw: bytes | str) -> Message:
    item = json.loads(raw)
    return Message(
        id=UUID(item["id"]),
        conversation_id=UUID(item["conversation_id"]),
        role=Role(item["role"]),
        content=item["content"],
        created_at=datetime.fromisoformat(item["created_at"]),
        tool_calls=item.get("tool_calls", []),
        tool_call_id=item.get("tool_call_id"),
        token_count=item.get("token_count", 0),
        status=MessageStatus(item.get("status", MessageStatus.OK.value)),
        error=item.get("error"),
        usage=item.get("usage", {}),
        metadata=item.get("metadata", {}),
    )


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()
