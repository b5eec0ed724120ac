"""Stored messages ↔ Pydantic AI's message history.

An assistant message keeps the tool calls of its turn (name, args, result, id), so a
turn replays as: the tool-call response, the tool returns, then the final text.
Failed user messages (a turn that never got an answer) are left out of the history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from domain.conversations.models import Message, MessageStatus, Role

OUTPUT_TOOL_PREFIX = "final_result"  # Pydantic AI's structured-output tools, not user tools


def to_model_messages(messages: Iterable[Message]) -> list[ModelMessage]:
    history: list[ModelMessage] = []
    for m in messages:
        if m.status is MessageStatus.FAILED:
            continue
        if m.role is Role.USER:
            history.append(ModelRequest(parts=[UserPromptPart(content=m.content)]))
        elif m.role is Role.SYSTEM:
            history.append(ModelRequest(parts=[SystemPromptPart(content=m.content)]))
        elif m.role is Role.ASSISTANT:
            if m.tool_calls:
                history.append(
                    ModelResponse(
                        parts=[
                            ToolCallPart(
                                tool_name=c["name"], args=c.get("args") or {}, tool_call_id=c["id"]
                            )
                            for c in m.tool_calls
                        ]
                    )
                )
                history.append(
                    ModelRequest(
                        parts=[
                            ToolReturnPart(
                                tool_name=c["name"], content=c.get("result"), tool_call_id=c["id"]
                            )
                            for c in m.tool_calls
                        ]
                    )
                )
            history.append(ModelResponse(parts=[TextPart(content=m.content)]))
    return history


def tool_calls_of(new_messages: Sequence[ModelMessage]) -> list[dict[str, Any]]:
    """The function-tool calls of one run with their results, in call order."""
    calls: dict[str, dict[str, Any]] = {}
    for message in new_messages:
        for part in message.parts:
            if isinstance(part, ToolCallPart) and not part.tool_name.startswith(OUTPUT_TOOL_PREFIX):
                calls[part.tool_call_id] = {
                    "id": part.tool_call_id,
                    "name": part.tool_name,
                    "args": part.args_as_dict(),
                    "result": None,
                }
            elif isinstance(part, ToolReturnPart) and part.tool_call_id in calls:
                calls[part.tool_call_id]["result"] = _jsonable(part.content)
    return list(calls.values())


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return str(value)


def last_messages(messages: Sequence[Message], max_messages: int) -> list[Message]:
    """The newest `max_messages` messages, never starting on an orphan assistant reply."""
    if max_messages <= 0:
        return []
    window = list(messages[-max_messages:])
    while window and window[0].role is not Role.USER:
        window.pop(0)
    return window


def summary_message(summary: str | None) -> list[ModelMessage]:
    """The running summary of what fell out of the window, as a system note first in line."""
    if not summary:
        return []
    return [
        ModelRequest(
            parts=[SystemPromptPart(content=f"Summary of the earlier conversation: {summary}")]
        )
    ]
