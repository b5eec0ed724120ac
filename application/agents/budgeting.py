"""A turn's history budget fitted to the model's context window (`domain.agents.budget`)."""

from __future__ import annotations

from typing import Any

from application.agents.framework import BaseAgentFramework
from domain.agents.budget import DEFAULT_REPLY_TOKENS, TOOL_DEFINITION_TOKENS, ContextBudget
from domain.agents.models import HistoryPolicy
from domain.memory.tokens import ApproximateTokenCounter

COUNTER = ApproximateTokenCounter()


async def fitted_history(framework: BaseAgentFramework[Any], prompt: str) -> HistoryPolicy:
    """The agent's history policy, its `max_tokens` at most what the model's context leaves
    next to the instructions, the tool definitions, `prompt` and the reply. Unchanged when
    the context window is unknown. Raises `PayloadTooLarge` when `prompt` cannot fit."""
    definition = framework.definition
    window = await framework.context_window()
    if window is None:
        return definition.history
    reply = definition.model_settings.max_tokens or DEFAULT_REPLY_TOKENS
    budget = ContextBudget(window, reply_tokens=min(reply, window // 2))
    fixed = COUNTER.count(definition.instructions) + TOOL_DEFINITION_TOKENS * len(definition.tools)
    tokens = COUNTER.count(prompt)
    budget.check_message(tokens, fixed)
    wanted = definition.history.max_tokens
    fitted = budget.history_tokens(wanted, fixed, tokens)
    if fitted == wanted:
        return definition.history
    return definition.history.model_copy(update={"max_tokens": fitted})
