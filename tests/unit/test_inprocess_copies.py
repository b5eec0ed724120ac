"""The in-process stores' message copies: every field, and nothing mutable shared."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import fields
from datetime import UTC, datetime
from uuid import uuid4

from adapters.inprocess.messages import copy_json, copy_message
from domain.conversations.models import Message, MessageStatus, Role


def full_message() -> Message:
    """A message with no field at its default, so a field the copy leaves out shows."""
    return Message(
        conversation_id=uuid4(),
        role=Role.ASSISTANT,
        content="done",
        id=uuid4(),
        tool_calls=[{"id": "c1", "name": "calc", "args": {"x": [1, 2]}, "result": {"v": 3}}],
        tool_call_id="c0",
        token_count=7,
        status=MessageStatus.FAILED,
        error={"code": "X", "details": {"why": ["a"]}},
        usage={"requests": 1, "input_tokens": 5},
        metadata={"agent": "a", "tags": ["t"], "nested": {"k": [1.5, None, True]}},
        created_at=datetime(2024, 1, 2, tzinfo=UTC),
    )


def test_a_copy_has_every_field_of_the_original() -> None:
    original = full_message()
    defaults = Message(conversation_id=uuid4(), role=Role.USER, content="")
    for f in fields(Message):  # the fixture really sets each field
        assert getattr(original, f.name) != getattr(defaults, f.name), f.name
    assert copy_message(original) == original


def test_a_copy_shares_no_mutable_state() -> None:
    original = full_message()
    before = deepcopy(original)
    copied = copy_message(original)
    copied.tool_calls[0]["args"]["x"].append(3)
    assert copied.error is not None
    copied.error["details"]["why"].append("b")
    copied.usage["requests"] = 2
    copied.metadata["nested"]["k"].append(0)
    copied.metadata["tags"].append("u")
    assert original == before


def test_copy_json_copies_containers_and_deep_copies_other_values() -> None:
    class Box:
        def __init__(self) -> None:
            self.items: list[int] = []

    box = Box()
    value = {"a": [{"b": box}], "t": (1, 2)}
    copied = copy_json(value)
    assert copied == {"a": [{"b": copied["a"][0]["b"]}], "t": (1, 2)}
    assert copied["a"] is not value["a"] and copied["a"][0] is not value["a"][0]
    assert copied["a"][0]["b"] is not box
