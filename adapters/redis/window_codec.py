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
    (an append retried after a lost reply) is kept once, at its first place.

    The messages are parsed as one JSON array (one `json.loads` per window, not per
    message) and the conversation id, shared by every message of a window, once."""
    if not items:
        return None
    try:
        header = json.loads(items[0])
        if not isinstance(header, dict) or header.get("v") != FORMAT_VERSION:
            raise UnreadableWindow("unknown window format")
        messages: list[Message] = []
        seen: set[UUID] = set()
        conversations: dict[str, UUID] = {}
        parsed = json.loads(_as_array(items[1:]))
        if len(parsed) != len(items) - 1:  # an item that is not exactly one JSON value
            raise UnreadableWindow("corrupt window item")
        for item in parsed:
            message = _message(item, conversations)
            if message.id not in seen:
                seen.add(message.id)
                messages.append(message)
        return CachedWindow(messages, header.get("summary"), int(header.get("n", 0)))
    except (ValueError, TypeError, KeyError) as exc:
        raise UnreadableWindow(str(exc)) from exc


def decode_message(raw: bytes | str) -> Message:
    return _message(json.loads(raw), {})


_ROLES = {r.value: r for r in Role}
_STATUSES = {s.value: s for s in MessageStatus}


def _message(item: dict[str, Any], conversations: dict[str, UUID]) -> Message:
    cid = item["conversation_id"]
    conversation_id = conversations.get(cid)
    if conversation_id is None:
        conversation_id = conversations[cid] = UUID(cid)
    return Message(
        id=UUID(item["id"]),
        conversation_id=conversation_id,
        role=_ROLES[item["role"]],
        content=item["content"],
        created_at=datetime.fromisoformat(item["created_at"]),
        tool_calls=item.get("tool_calls", []),
        tool_call_id=item.get("tool_call_id"),
        token_count=item.get("token_count", 0),
        status=_STATUSES[item["status"]] if "status" in item else MessageStatus.OK,
        error=item.get("error"),
        usage=item.get("usage", {}),
        metadata=item.get("metadata", {}),
    )


def _as_array(items: Sequence[bytes | str]) -> bytes | str:
    """The encoded messages as one JSON array (each item is one JSON object)."""
    if all(isinstance(i, bytes) for i in items):
        return b"[" + b",".join(items) + b"]"  # type: ignore[arg-type]
    return "[" + ",".join(i.decode() if isinstance(i, bytes) else i for i in items) + "]"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()
