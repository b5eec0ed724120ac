"""Messages for short-term memory tests: one conversation, a message of each role, built
with the fewest words (`user("hi")`, `assistant("ok", "call-1")`, `tool("call-1")`)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from domain.conversations.models import Message, Role
from domain.memory.short_term import ApproximateTokenCounter

CONVERSATION = uuid4()
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
COUNTER = ApproximateTokenCounter()


def msg(role: Role, content: str = "hello there", **kw: object) -> Message:
    return Message(conversation_id=CONVERSATION, role=role, content=content, **kw)  # type: ignore[arg-type]


def user(content: str = "hello there", **kw: object) -> Message:
    return msg(Role.USER, content, **kw)


def assistant(
    content: str = "hi, how can I help?", *call_ids: str, inline: bool = False
) -> Message:
    calls = [
        {"id": c, "name": "lookup", "args": {"q": c}, **({"result": "42"} if inline else {})}
        for c in call_ids
    ]
    return msg(Role.ASSISTANT, content, tool_calls=calls)


def tool(call_id: str, content: str = "42") -> Message:
    return msg(Role.TOOL, content, tool_call_id=call_id)


def system(content: str = "You are terse.") -> Message:
    return msg(Role.SYSTEM, content)


def roles(messages: list[Message]) -> list[str]:
    return [m.role.value for m in messages]
