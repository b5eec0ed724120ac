"""A turn's history budget fitted to the model's context window (`domain.agents.budget`).

Counts are `ApproximateTokenCounter` estimates scaled per model by `TokenCalibration`
(learnt after each single-request turn from the `usage.prompt_tokens` the server reported
for it). A message long enough to move the budget (over `MESSAGE_ALLOWANCE_TOKENS`) is
counted by the server's tokenizer where it has one: one round trip, only then.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic_ai.messages import ModelMessage

from application.agents.client_history import model_message_tokens
from application.agents.runner import AgentRunner
from domain.agents.budget import (
    DEFAULT_REPLY_TOKENS,
    MESSAGE_ALLOWANCE_TOKENS,
    TOOL_DEFINITION_TOKENS,
    ContextBudget,
)
from domain.agents.calibration import TokenCalibration
from domain.agents.models import HistoryPolicy, TurnUsage
from domain.errors import MAIError
from domain.memory.tokens import ApproximateTokenCounter

COUNTER = ApproximateTokenCounter()
CALIBRATION = TokenCalibration()  # per process: relearnt from the first turns after a start


async def calibration_key(runner: AgentRunner[Any]) -> str:
    """The model an agent runs on, as calibration knows it (`system:name`, e.g.
    `openai:SmolLM2-135M-Instruct`); `""` when it cannot be had now."""
    try:
        model = await runner.resolve_model()
    except MAIError:
        return ""
    return f"{model.system}:{model.model_name}"


def _fixed_tokens(runner: AgentRunner[Any]) -> int:
    definition = runner.definition
    return COUNTER.count(definition.instructions) + TOOL_DEFINITION_TOKENS * len(definition.tools)


async def fitted_history(runner: AgentRunner[Any], prompt: str) -> HistoryPolicy:
    """The agent's history policy, its `max_tokens` at most what the model's context leaves
    next to the instructions, the tool definitions, `prompt` and the reply. Unchanged when
    the context window is unknown. Raises `PayloadTooLarge` when `prompt` cannot fit."""
    definition = runner.definition
    window = await runner.context_window()
    if window is None:
        return definition.history
    scale = CALIBRATION.scale(await calibration_key(runner))
    reply = definition.model_settings.max_tokens or DEFAULT_REPLY_TOKENS
    budget = ContextBudget(window, reply_tokens=min(reply, window // 2))
    fixed = math.ceil(_fixed_tokens(runner) * scale)
    tokens = math.ceil(COUNTER.count(prompt) * scale)
    if tokens > MESSAGE_ALLOWANCE_TOKENS:  # big enough to matter: count it exactly
        exact = await runner.count_tokens(prompt)
        if exact is not None:
            tokens = exact
    budget.check_message(tokens, fixed)
    # The history is counted by the raw estimate: compare in real tokens, hand back raw.
    wanted = definition.history.max_tokens
    fitted = math.floor(budget.history_tokens(math.ceil(wanted * scale), fixed, tokens) / scale)
    if fitted >= wanted:
        return definition.history
    return definition.history.model_copy(update={"max_tokens": max(1, fitted)})


async def observe_usage(
    runner: AgentRunner[Any],
    history: Sequence[ModelMessage],
    prompt: str,
    usage: TurnUsage,
) -> None:
    """Teach the calibration what the server counted for a one-request turn (instructions,
    tools, history and prompt, as this module estimates them). Tool loops are skipped:
    their usage adds several requests up."""
    if usage.requests != 1 or usage.input_tokens <= 0:
        return
    estimated = (
        _fixed_tokens(runner)
        + sum(model_message_tokens(message) for message in history)
        + COUNTER.count(prompt)
    )
    CALIBRATION.observe(await calibration_key(runner), estimated, usage.input_tokens)
