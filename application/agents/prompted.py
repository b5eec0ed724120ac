"""Agents whose instructions come from a prompt file.

An `AgentDefinition` with `prompt: name` (latest) or `prompt: name@1.2.0` (pinned) gets
Pydantic AI *dynamic instructions*: a function of the run context that renders the prompt
each turn with the definition's fixed `prompt_variables` plus what the turn knows:

- `user`: the caller's username, when the turn put it in `deps.extras["username"]`;
- `date`: today, ISO 8601;
- `memories`: recalled memory snippets (a list of strings) from `deps.extras["memories"]`,
  else recalled here through `deps.memory` with the agent's memory policy (once per run).

Only variables the prompt declares are bound, so a prompt opts in to each. Unpinned
prompts are looked up every turn, so an edited file (hot reload) takes effect at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import structlog
from pydantic_ai import RunContext

from application.prompts.manager import PromptManager
from domain.agents.models import AgentDefinition
from domain.errors import ConfigurationError, MAIError, PromptNotFound
from domain.prompts.models import PromptTemplate, matches
from domain.prompts.refs import PromptRef

log = structlog.get_logger("mai.prompts")

CONTEXT_VARIABLES = ("user", "date", "memories")
Instructions = Callable[[RunContext[Any]], Awaitable[str]]


def _today() -> date:
    return datetime.now(UTC).date()


def instructions_for(
    definition: AgentDefinition,
    prompts: PromptManager | None,
    *,
    today: Callable[[], date] = _today,
) -> str | Instructions:
    """What to pass as `Agent(instructions=...)`: the plain `instructions` string when the
    definition names no prompt, else a function rendering the prompt each turn."""
    if definition.prompt is None:
        return definition.instructions
    if prompts is None:
        raise ConfigurationError(
            f"Agent {definition.name!r} names prompt {definition.prompt!r} but no prompt "
            "manager was given.",
            details={"agent": definition.name, "field": "prompt"},
        )
    manager = prompts
    ref = PromptRef.parse(definition.prompt)
    fixed = dict(definition.prompt_variables)

    async def instructions(ctx: RunContext[Any]) -> str:
        prompt = manager.get(ref.name, ref.version)
        values = await _turn_values(ctx, definition, prompt, today)
        values.update(fixed)
        rendered = await manager.render(prompt.name, values, prompt.version)
        return rendered.text

    return instructions


def check_prompt(definition: AgentDefinition, prompts: PromptManager | None) -> None:
    """At catalog load: the named prompt (and pinned version) exists, the fixed variables
    are declared and well typed, and every required variable has a source."""
    if definition.prompt is None:
        return
    agent = definition.name
    if prompts is None:
        raise ConfigurationError(
            f"Agent {agent!r} names prompt {definition.prompt!r} but prompts are not loaded.",
            details={"agent": agent, "field": "prompt"},
        )
    ref = PromptRef.parse(definition.prompt)
    try:
        prompt = prompts.get(ref.name, ref.version)
    except PromptNotFound as exc:
        raise ConfigurationError(
            f"Agent {agent!r}: {exc.message}", details={"agent": agent, "field": "prompt"}
        ) from None
    problems = []
    for name, value in definition.prompt_variables.items():
        spec = prompt.variables.get(name)
        if spec is None:
            problems.append(f"{name!r} is not a variable of {prompt.ref}")
        elif not matches(spec.type, value):
            problems.append(f"{name!r} must be {spec.type}")
    supplied = set(definition.prompt_variables) | set(CONTEXT_VARIABLES)
    for name, spec in prompt.variables.items():
        if spec.required and name not in supplied:
            problems.append(f"{prompt.ref} requires {name!r}: set it in prompt_variables")
    if problems:
        raise ConfigurationError(
            f"Agent {agent!r}: " + "; ".join(problems) + ".",
            details={"agent": agent, "field": "prompt_variables", "problems": problems},
        )


async def _turn_values(
    ctx: RunContext[Any],
    definition: AgentDefinition,
    prompt: PromptTemplate,
    today: Callable[[], date],
) -> dict[str, Any]:
    declared = prompt.variables
    extras: dict[str, Any] = getattr(ctx.deps, "extras", None) or {}
    values: dict[str, Any] = {}
    if "user" in declared and isinstance(extras.get("username"), str):
        values["user"] = extras["username"]
    if "date" in declared:
        values["date"] = today().isoformat()
    if "memories" in declared:
        values["memories"] = await _memories(ctx, definition, extras)
    return values


async def _memories(
    ctx: RunContext[Any], definition: AgentDefinition, extras: dict[str, Any]
) -> list[str]:
    given = extras.get("memories")
    if isinstance(given, list):
        return [str(m) for m in given]
    memory, user_id = getattr(ctx.deps, "memory", None), getattr(ctx.deps, "user_id", None)
    policy = definition.memory
    found: list[str] = []
    if memory is not None and user_id is not None and policy.recall_k and ctx.prompt:
        try:
            result = await memory.retrieve(user_id, str(ctx.prompt), k=policy.recall_k)
            found = [i.memory.content for i in result.items if i.score >= policy.min_score]
        except MAIError as exc:  # memory trouble never fails a turn
            log.warning("prompt_memory_recall_failed", code=exc.code)
    if isinstance(getattr(ctx.deps, "extras", None), dict):
        ctx.deps.extras["memories"] = found  # once per run, not once per model request
    return found
