"""A client's own transcript as the turn's history.

Most OpenAI clients (the `llm` CLI with `-c`, Open WebUI, LibreChat) and the UI protocols
(Vercel AI, AG-UI) keep the conversation themselves and re-send all of it on every call.
Without a stored conversation named, those earlier messages *are* the turn's history:
mapped here to Pydantic AI's `ModelMessage`s and fitted to the agent's history policy,
as a stored conversation's window is.

Decisions, and why:
- A client's `system` (or `developer`) message is honoured as *extra* instructions: it
  reaches the model as a system part after the agent's own instructions, which it cannot
  replace (Pydantic AI always sends the agent's `instructions`). The caller is
  authenticated and could say the same in a user message, so refusing it would only
  break clients that always send one.
- Tool calls in the transcript must be answered (each assistant `tool_calls` id by a
  `tool` message before the next user or assistant message) and every `tool` message must
  answer a call: a chat model rejects, or misreads, a history with half an exchange.
- Fitting drops whole exchanges (a user message and everything up to the next one), oldest
  first, never half a tool call; system parts are pinned, as in `domain.memory.truncation`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
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

from domain.agents.models import HistoryPolicy
from domain.errors import ValidationFailed
from domain.memory.folding import stable_start
from domain.memory.tokens import ApproximateTokenCounter

SYSTEM_ROLES = ("system", "developer")
ROLES = (*SYSTEM_ROLES, "user", "assistant", "tool")
_COUNTER = ApproximateTokenCounter()
_OVERHEAD = 4  # role markers a chat template adds per message (as domain.memory.truncation)


@dataclass(frozen=True, slots=True)
class ClientToolCall:
    id: str
    name: str
    arguments: str | dict[str, Any]  # OpenAI sends a JSON string


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """One message of a client's transcript, in wire-neutral form."""

    role: str
    text: str = ""
    tool_calls: tuple[ClientToolCall, ...] = field(default_factory=tuple)
    tool_call_id: str | None = None


def _invalid(message: str, index: int) -> ValidationFailed:
    return ValidationFailed(message, details={"field": "messages", "index": index})


def split_turn(messages: Sequence[ClientMessage]) -> tuple[str, list[ClientMessage]]:
    """The turn's message (the transcript's last message, which must be the user's) and the
    messages before it."""
    if not messages:
        raise _invalid("The request has no messages.", 0)
    last = messages[-1]
    if last.role != "user":
        raise _invalid(
            "The last message must be the user's: this endpoint runs the agent on it "
            "(tools run on the server; it takes no client tool results).",
            len(messages) - 1,
        )
    return last.text, list(messages[:-1])


def _args(call: ClientToolCall, index: int) -> dict[str, Any] | str:
    if isinstance(call.arguments, dict):
        return call.arguments
    try:
        json.loads(call.arguments or "{}")
    except ValueError as exc:
        raise _invalid(f"Tool call {call.id!r} has arguments that are not JSON.", index) from exc
    return call.arguments or "{}"


def to_model_messages(messages: Sequence[ClientMessage]) -> list[ModelMessage]:
    """The transcript as Pydantic AI messages; `ValidationFailed` (naming the message's
    index) for an unknown role or an unpaired tool call or result."""
    history: list[ModelMessage] = []
    open_calls: dict[str, str] = {}  # id -> tool name, made but not answered yet
    opened_at = 0
    for i, m in enumerate(messages):
        if m.role not in ROLES:
            raise _invalid(f"Unknown role {m.role!r}; expected one of {', '.join(ROLES)}.", i)
        if m.role == "tool":
            if m.tool_call_id is None or m.tool_call_id not in open_calls:
                raise _invalid("A tool message answers no open tool call of the transcript.", i)
            name = open_calls.pop(m.tool_call_id)
            part = ToolReturnPart(tool_name=name, content=m.text, tool_call_id=m.tool_call_id)
            history.append(ModelRequest(parts=[part]))
            continue
        if open_calls:
            raise _invalid("A tool call of the transcript has no tool message answering it.", i)
        if m.role in SYSTEM_ROLES:
            history.append(ModelRequest(parts=[SystemPromptPart(content=m.text)]))
        elif m.role == "user":
            history.append(ModelRequest(parts=[UserPromptPart(content=m.text)]))
        else:
            parts: list[TextPart | ToolCallPart] = [TextPart(m.text)] if m.text else []
            for call in m.tool_calls:
                parts.append(ToolCallPart(call.name, _args(call, i), call.id))
                open_calls[call.id] = call.name
                opened_at = i
            if parts:
                history.append(ModelResponse(parts=parts))
    if open_calls:
        raise _invalid("A tool call of the transcript has no tool message answering it.", opened_at)
    return history


def model_message_tokens(message: ModelMessage) -> int:
    """A history message's estimated tokens, with its per-message overhead."""
    return _tokens(message)


def _tokens(message: ModelMessage) -> int:
    total = _OVERHEAD
    for part in message.parts:
        if isinstance(part, ToolCallPart):
            total += _COUNTER.count(part.tool_name) + _COUNTER.count(part.args_as_json_str())
        else:
            content = getattr(part, "content", "")
            total += _COUNTER.count(content if isinstance(content, str) else str(content))
    return total


def _is_system(message: ModelMessage) -> bool:
    return isinstance(message, ModelRequest) and all(
        isinstance(p, SystemPromptPart) for p in message.parts
    )


def _starts_exchange(message: ModelMessage) -> bool:
    return isinstance(message, ModelRequest) and any(
        isinstance(p, UserPromptPart) for p in message.parts
    )


def fit(history: Sequence[ModelMessage], policy: HistoryPolicy) -> list[ModelMessage]:
    """The newest whole exchanges within `policy` (system messages pinned and not counted
    against `max_messages`), with the turn's own message counted as one more message."""
    pinned = [m for m in history if _is_system(m)]
    rest = [m for m in history if not _is_system(m)]
    exchanges: list[list[ModelMessage]] = []
    for m in rest:
        if _starts_exchange(m) or not exchanges:
            exchanges.append([])
        exchanges[-1].append(m)
    budget_messages = max(policy.max_messages - 1, 0)
    budget_tokens = policy.max_tokens - sum(_tokens(m) for m in pinned)
    if policy.layout == "prefix_cache":  # cut in blocks: the server's cached prefix holds
        sizes = [(len(e), sum(_tokens(m) for m in e)) for e in exchanges]
        start = stable_start(sizes, max_messages=budget_messages, max_tokens=budget_tokens)
        if start is not None:
            return pinned + [m for exchange in exchanges[start:] for m in exchange]
    kept: list[list[ModelMessage]] = []
    count = tokens = 0
    for exchange in reversed(exchanges):
        cost = sum(_tokens(m) for m in exchange)
        if count + len(exchange) > budget_messages or tokens + cost > budget_tokens:
            break
        kept.insert(0, exchange)
        count, tokens = count + len(exchange), tokens + cost
    return pinned + [m for exchange in kept for m in exchange]


def client_history(messages: Sequence[ClientMessage], policy: HistoryPolicy) -> list[ModelMessage]:
    """The earlier messages of a client's transcript as the turn's history, within budget."""
    return fit(to_model_messages(messages), policy)


def split_model_turn(messages: Sequence[ModelMessage]) -> tuple[str, list[ModelMessage]]:
    """For UI protocols (already Pydantic AI messages): the turn's message (the last, a user
    prompt; its text parts joined) and the messages before it."""
    last = messages[-1] if messages else None
    prompts = [p for p in last.parts if isinstance(p, UserPromptPart)] if last else []
    if not isinstance(last, ModelRequest) or not prompts:
        raise _invalid(
            "The last message must be the user's: this endpoint runs the agent on it (tool "
            "approvals are resolved through /api/v1/approvals).",
            max(len(messages) - 1, 0),
        )
    texts = [
        item
        for p in prompts
        for item in ([p.content] if isinstance(p.content, str) else p.content)
        if isinstance(item, str)
    ]
    return "\n".join(texts), list(messages[:-1])
