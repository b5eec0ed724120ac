"""Copies of `Message` as a database or Redis would hand them out: no mutable state shared
with the caller. The in-process stores copy every message in and out, so a chat turn
makes some twenty copies (the window read, the two writes, the window append and fold).

Field by field with the constructor, and JSON-shaped values (tool calls, errors, usage,
metadata: what the SQL and Redis stores keep as JSON) copied by `copy_json`:
`dataclasses.replace` and `copy.deepcopy` made these copies the in-process chat turn's
largest cost after the model run.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from domain.conversations.models import Message

_SCALARS = frozenset({str, int, float, bool, type(None)})


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-shaped value (dicts, lists, scalars); anything else in it is
    `deepcopy`-ed. (Scalars in a container are taken as they are, without a call each.)"""
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else copy_json(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else copy_json(v) for v in value]
    if kind in _SCALARS:
        return value
    return deepcopy(value)


def copy_message(m: Message) -> Message:
    """`m` with its own copies of every mutable field. Every field of `Message` is passed
    (tests/unit/test_inprocess_copies.py checks that none is left to its default)."""
    return Message(
        conversation_id=m.conversation_id,
        role=m.role,
        content=m.content,
        id=m.id,
        tool_calls=[copy_json(c) for c in m.tool_calls] if m.tool_calls else [],
        tool_call_id=m.tool_call_id,
        token_count=m.token_count,
        status=m.status,
        error=None if m.error is None else copy_json(m.error),
        usage=copy_json(m.usage),
        metadata=copy_json(m.metadata) if m.metadata else {},
        created_at=m.created_at,
    )
