"""`AgentRunner`: one agent definition on a `pydantic_ai.Agent`, built once.

The Pydantic AI agent is constructed in `__init__` and reused by every run (its construction
costs ~0.2 ms, BENCHMARKS.md; a run on a reused agent adds almost nothing). The model is
passed per run, so one agent serves whichever model the LLM server offers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypedDict, TypeVar
from uuid import UUID

import structlog
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults
from pydantic_ai.messages import (
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    ModelMessage,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.models import Model
from pydantic_ai.run import AgentRunResult
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import Tool
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.usage import UsageLimits

from application.agents.errors import translate_run_error
from application.agents.history import (
    last_messages,
    summary_message,
    to_model_messages,
    tool_calls_of,
)
from application.agents.ports import ModelSource, TokenCountingSource
from application.agents.prompted import instructions_for
from application.conversation_window import ConversationWindow
from application.memory import LongTermMemory
from application.prompts.manager import PromptManager
from domain.agents.models import AgentDefinition, TurnUsage
from domain.conversations.ports import ConversationStore
from domain.errors import ConfigurationError

ResultT = TypeVar("ResultT")
log = structlog.get_logger("mai.agents")


@dataclass
class AgentDeps:
    """What a tool can reach through `RunContext.deps`: who is asking, and in which chat.
    A run on someone's behalf always has a user; a run on nobody's (a summary, a fact
    extraction) passes no deps at all."""

    user_id: UUID
    conversation_id: UUID | None = None
    memory: LongTermMemory | None = None  # the user's long-term memory, when available
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCalled:
    id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolReturned:
    id: str
    name: str
    result: Any


@dataclass(frozen=True, slots=True)
class RunFinished(Generic[ResultT]):
    result: AgentRunResult[ResultT]


@dataclass(frozen=True, slots=True)
class NativeEvent:
    """A Pydantic AI stream event as it came, for its UI protocol adapters (Vercel AI,
    AG-UI), which translate these themselves."""

    event: Any


StreamItem = TextDelta | ToolCalled | ToolReturned | RunFinished[Any] | NativeEvent


def usage_of(result: AgentRunResult[Any]) -> TurnUsage:
    u = result.usage
    return TurnUsage(
        requests=u.requests,
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        tool_calls=u.tool_calls,
        cached_tokens=u.cache_read_tokens,
    )


class AgentRunner(Generic[ResultT]):
    """A typed agent: `run()`, `run_async()`, `run_stream()`, validated output, usage."""

    def __init__(
        self,
        definition: AgentDefinition,
        *,
        output_type: type[ResultT] | None = None,
        model: Model | None = None,
        models: ModelSource | None = None,
        tools: Sequence[Tool[AgentDeps]] = (),
        toolsets: Sequence[AbstractToolset[AgentDeps]] = (),
        deferred: bool = False,
        prompts: PromptManager | None = None,
        conversations: ConversationStore | None = None,
        window: ConversationWindow | None = None,
        unknown_tools: Sequence[str] = (),
    ) -> None:
        self.definition = definition
        self.output_type: type[Any] = output_type or str
        self._model = model
        self._models = models
        self._conversations = conversations
        self._window = window
        self._unknown_tools = list(unknown_tools)
        # An agent with approval-gated tools may end a run with the calls it waits for.
        self.deferred = deferred
        output: Any = [self.output_type, DeferredToolRequests] if deferred else self.output_type
        self.agent: Agent[AgentDeps, ResultT] = Agent(
            None,
            output_type=output,
            instructions=instructions_for(definition, prompts),
            deps_type=AgentDeps,
            tools=list(tools),
            toolsets=list(toolsets),
            name=definition.name,
            retries={"tools": 1, "output": definition.limits.output_retries},
        )
        p = definition.model_settings
        settings: dict[str, Any] = {
            "temperature": p.temperature,
            "max_tokens": p.max_tokens,
            "top_p": p.top_p,
            "timeout": p.timeout_seconds,
        }
        self.model_settings = ModelSettings(**{k: v for k, v in settings.items() if v is not None})  # type: ignore[typeddict-item]
        lim = definition.limits
        self.usage_limits = UsageLimits(
            request_limit=lim.model_requests,
            tool_calls_limit=lim.tool_calls,
            total_tokens_limit=lim.total_tokens,
        )

    @property
    def name(self) -> str:
        return self.definition.name

    def validate_dependencies(self) -> None:
        """Fail early, naming every problem, rather than on the first user's turn."""
        problems = []
        if self._model is None and self._models is None:
            problems.append("no model and no model source")
        if self._unknown_tools:
            problems.append(f"unknown tools {sorted(self._unknown_tools)}")
        if problems:
            raise ConfigurationError(
                f"Agent {self.name!r}: " + "; ".join(problems) + ".",
                details={"agent": self.name, "problems": problems},
            )

    async def resolve_model(self) -> Model:
        if self._model is not None:
            return self._model
        if self._models is None:
            raise ConfigurationError(
                f"Agent {self.name!r} has no model.", details={"agent": self.name}
            )
        return await self._models.model(self.definition.model)

    async def context_window(self) -> int | None:
        """The model's context window in tokens, when its source knows it."""
        if self._model is not None or self._models is None:
            return None
        return await self._models.context_window(self.definition.model)

    async def count_tokens(self, text: str) -> int | None:
        """`text`'s tokens by the model server's tokenizer, where it has one (else None)."""
        if self._model is not None or not isinstance(self._models, TokenCountingSource):
            return None
        return await self._models.count_tokens(text, self.definition.model)

    async def load_history(self, user_id: UUID, conversation_id: UUID) -> list[ModelMessage]:
        """The history the agent sees this turn, per its history policy: the cached window
        (rebuilt from the database on a miss) fitted to its token budget, summary first."""
        if self._window is not None:
            fitted = await self._window.load(user_id, conversation_id, self.definition.history)
            return summary_message(fitted.summary) + to_model_messages(fitted.messages)
        if self._conversations is None:
            return []
        limit = self.definition.history.max_messages
        recent = await self._conversations.recent_messages(user_id, conversation_id, limit)
        return to_model_messages(last_messages(recent, limit))

    async def run_async(
        self,
        prompt: str | None,
        *,
        history: Sequence[ModelMessage] = (),
        deps: AgentDeps | None = None,
        deferred_results: DeferredToolResults | None = None,
    ) -> AgentRunResult[ResultT]:
        """One run. To resume a run paused for approval, pass no prompt, its messages as
        `history` and the decisions as `deferred_results`."""
        started = time.perf_counter()
        try:
            model = await self.resolve_model()
            result: AgentRunResult[ResultT] = await self.agent.run(
                prompt,
                model=model,
                message_history=list(history),
                **_given(deps),
                model_settings=self.model_settings,
                usage_limits=self.usage_limits,
                deferred_tool_results=deferred_results,
            )
        except Exception as exc:
            raise _translated(exc) from exc
        self.log_execution(result, seconds=time.perf_counter() - started, deps=deps)
        return result

    def run(
        self, prompt: str, *, history: Sequence[ModelMessage] = (), deps: AgentDeps | None = None
    ) -> AgentRunResult[ResultT]:
        """Synchronous run, for scripts and notebooks without an event loop."""
        return asyncio.run(self.run_async(prompt, history=history, deps=deps))

    async def run_stream(
        self,
        prompt: str | None,
        *,
        history: Sequence[ModelMessage] = (),
        deps: AgentDeps | None = None,
        deferred_results: DeferredToolResults | None = None,
        native: bool = False,
    ) -> AsyncIterator[StreamItem]:
        """Text deltas and tool events as they happen, then `RunFinished` with the result.
        `native=True` also yields every Pydantic AI event, as a `NativeEvent` before the item
        made of it.

        Closing the iterator early (a client gone) cancels the model request and the run.
        """
        started = time.perf_counter()
        try:
            model = await self.resolve_model()
            async with self.agent.iter(
                prompt,
                model=model,
                message_history=list(history),
                **_given(deps),
                model_settings=self.model_settings,
                usage_limits=self.usage_limits,
                deferred_tool_results=deferred_results,
            ) as run:
                async for node in run:
                    if Agent.is_model_request_node(node) or Agent.is_call_tools_node(node):
                        async with node.stream(run.ctx) as events:
                            async for event in events:
                                if native:
                                    yield NativeEvent(event)
                                item = _stream_item(event)
                                if item is not None:
                                    yield item
                result = run.result
        except Exception as exc:
            raise _translated(exc) from exc
        assert result is not None
        self.log_execution(result, seconds=time.perf_counter() - started, deps=deps)
        yield RunFinished(result)

    def log_execution(
        self, result: AgentRunResult[Any], *, seconds: float, deps: AgentDeps | None = None
    ) -> None:
        usage = usage_of(result)
        log.info(
            "agent_run",
            agent=self.name,
            duration_ms=round(seconds * 1000, 2),
            conversation_id=str(deps.conversation_id) if deps and deps.conversation_id else None,
            tools_called=[c["name"] for c in tool_calls_of(result.new_messages())],
            **usage.to_dict(),
        )


class _Deps(TypedDict, total=False):
    deps: AgentDeps


def _given(deps: AgentDeps | None) -> _Deps:
    """`deps` as a run's keyword; none (Pydantic AI's default) for a run on nobody's behalf."""
    return {} if deps is None else {"deps": deps}


def _translated(exc: Exception) -> BaseException:
    err = translate_run_error(exc)
    return err if err is not None else exc


def _stream_item(event: object) -> StreamItem | None:
    if (
        isinstance(event, PartStartEvent)
        and isinstance(event.part, TextPart)
        and event.part.content
    ):
        return TextDelta(event.part.content)
    if (
        isinstance(event, PartDeltaEvent)
        and isinstance(event.delta, TextPartDelta)
        and event.delta.content_delta
    ):
        return TextDelta(event.delta.content_delta)
    if isinstance(event, FunctionToolCallEvent):
        return ToolCalled(event.part.tool_call_id, event.part.tool_name, event.part.args_as_dict())
    if isinstance(event, FunctionToolResultEvent):
        part = event.part
        return ToolReturned(part.tool_call_id, part.tool_name, part.content)
    return None


__all__ = [
    "AgentDeps",
    "AgentRunner",
    "NativeEvent",
    "RunFinished",
    "StreamItem",
    "TextDelta",
    "ToolCalled",
    "ToolReturned",
    "usage_of",
]
