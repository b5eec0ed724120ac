"""A chat turn: store the user's message, run the agent on the conversation, store the reply.

The user's message is committed before the model is called, and the assistant's only
when the turn completes, so a failed turn (model down, tool crash, client gone) leaves
the conversation consistent: the user's message is there, marked failed with the error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from pydantic import BaseModel
from pydantic_ai import DeferredToolRequests
from pydantic_ai.messages import ModelMessage, ModelRequest, SystemPromptPart
from pydantic_ai.run import AgentRunResult

from application.agents.budgeting import fitted_history, observe_usage
from application.agents.catalog import AgentCatalog
from application.agents.client_history import fit
from application.agents.framework import (
    AgentDeps,
    BaseAgentFramework,
    RunFinished,
    TextDelta,
    ToolCalled,
    ToolReturned,
    usage_of,
)
from application.agents.history import summary_message, to_model_messages, tool_calls_of
from application.chat_events import Announcer
from application.context import ConversationContext, TurnContext
from application.facts import FactExtractor
from application.memory import LongTermMemory, NewMemory
from domain.agents.models import ChatEvent, ChatEventType, MemoryPolicy, TurnResult, TurnUsage
from domain.agents.ports import ChatMetrics
from domain.conversations.models import Conversation, Message, MessageStatus, Role, title_from
from domain.conversations.ports import ConversationStore
from domain.errors import MAIError, NotFound, PayloadTooLarge, ValidationFailed
from domain.memory.long_term import MAX_MEMORY_CHARS, MemoryKind, MemorySource
from domain.ports import BackgroundTasks, Clock, EventBus
from domain.tools.models import Approval, PendingCall
from domain.tools.ports import ApprovalStore

log = structlog.get_logger("mai.chat")
CANCELLED = {"code": "CANCELLED", "message": "The turn was cancelled before it completed."}


@dataclass
class Turn:
    framework: BaseAgentFramework[Any]
    conversation: Conversation
    user_message: Message
    deps: AgentDeps
    history: list[Any]
    started: float
    new_conversation: bool
    context: TurnContext | None
    resumed: bool = False  # a turn paused for approval, now running again
    prompt: str | None = None  # what the model gets as this turn's message (None = stored text)

    @property
    def model_prompt(self) -> str:
        return self.prompt if self.prompt is not None else self.user_message.content


def output_text(output: Any) -> str:
    return output.model_dump_json() if isinstance(output, BaseModel) else str(output)


class ChatTurn:
    def __init__(
        self,
        agents: AgentCatalog,
        conversations: ConversationStore,
        clock: Clock,
        metrics: ChatMetrics,
        max_message_chars: int,
        context: ConversationContext,
        memory: Callable[[], LongTermMemory | None] = lambda: None,
        facts: FactExtractor | None = None,
        approvals: ApprovalStore | None = None,
        bus: EventBus | None = None,
        *,
        tasks: BackgroundTasks,
    ) -> None:
        self._tasks = tasks  # after-the-turn work and event publishing outlive the turn
        self._bus = bus
        self._approvals = approvals
        self._facts = facts
        self._context = context
        self._memory = memory
        self._agents = agents
        self._store = conversations
        self._clock = clock
        self._metrics = metrics
        self._max_chars = max_message_chars

    async def _prepare(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None,
        username: str | None = None,
        client_history: Sequence[ModelMessage] | None = None,
    ) -> Turn:
        """Everything that can refuse the turn, with no writes: a refused turn leaves no trace.

        `client_history`: the earlier messages of a client that keeps the conversation itself
        (OpenAI clients, UI protocols); the history of a new conversation's first turn,
        fitted to the agent's policy. A stored conversation named by `conversation_id` wins."""
        if not message.strip():
            raise ValidationFailed("Message is empty.", details={"field": "message"})
        if len(message) > self._max_chars:
            raise PayloadTooLarge(
                f"Message is longer than {self._max_chars} characters.",
                details={"field": "message", "limit": self._max_chars, "length": len(message)},
            )
        framework = self._agents.get(agent)
        if conversation_id is None:
            conversation = Conversation(
                user_id=user_id, agent_name=agent, title=title_from(message)
            )
        else:
            found = await self._store.get(user_id, conversation_id)
            if found is None:
                raise NotFound(
                    "Conversation not found.", details={"conversation_id": str(conversation_id)}
                )
            conversation = found
        user_message = Message(conversation_id=conversation.id, role=Role.USER, content=message)
        memory = self._memory()
        deps = AgentDeps(user_id=user_id, conversation_id=conversation.id, memory=memory)
        if username:  # a prompt may greet the user by name (`user` variable)
            deps.extras["username"] = username
        note = await self._recalled(framework.definition.memory, deps, message)
        prompt = f"{note}\n\n{message}" if note and not sliding(framework) else None
        # the model's real context: refuse what cannot fit (413), clamp the history budget
        policy = await fitted_history(framework, prompt or message)
        history: list[Any] = []
        loaded: TurnContext | None = None
        if conversation_id is not None:
            loaded = await self._context.load(user_id, conversation.id, policy)
            history = summary_message(loaded.summary) + to_model_messages(loaded.messages)
        elif client_history:
            history = fit(client_history, policy)
        if note and sliding(framework):
            history = [ModelRequest(parts=[SystemPromptPart(content=note)]), *history]
        # else the note went after the stable part, with the new message: cached prefix
        new = conversation_id is None
        return Turn(
            framework, conversation, user_message, deps, history, 0.0, new, loaded, prompt=prompt
        )

    async def _recalled(self, policy: MemoryPolicy, deps: AgentDeps, message: str) -> str:
        """The user's most relevant memories as a note for the model ('' if none).

        Placed by the history layout: `prefix_cache` puts it in this turn's user message,
        after the history (a note that changes each turn must not precede what is cached);
        `sliding` puts it as a system note before the history (the earlier layout)."""
        if policy.recall_k == 0 or deps.memory is None or deps.user_id is None:
            return ""
        try:
            # twice k: this conversation's own episodes are left out below
            found = await deps.memory.retrieve(deps.user_id, message, k=2 * policy.recall_k)
        except MAIError as exc:  # memory trouble never fails a turn
            log.warning("memory_recall_failed", code=exc.code)
            return ""
        kept = [
            i.memory.content
            for i in found.items
            if i.score >= policy.min_score
            # already in the history or its summary: repeating it only costs tokens
            and i.memory.source_conversation_id != deps.conversation_id
        ][: policy.recall_k]
        deps.extras["memories"] = kept  # a prompt may place them itself (`memories` variable)
        notes = [f"- {content}" for content in kept]
        if not notes:
            return ""
        return "What you remember about this user (may be relevant):\n" + "\n".join(notes)

    def _write_episode(self, turn: Turn, reply: Message) -> None:
        """After the response: remember the turn as an episode and/or extract its facts."""
        memory, user = turn.deps.memory, turn.deps.user_id
        policy = turn.framework.definition.memory
        if memory is None or user is None or not (policy.episodes or policy.extract_facts):
            return
        episode = NewMemory(
            f"User: {turn.user_message.content}\nAssistant: {reply.content}"[:MAX_MEMORY_CHARS],
            MemoryKind.EPISODIC,
            source_conversation_id=turn.conversation.id,
            source_message_id=reply.id,
            source=MemorySource.EPISODIC,
        )

        async def write() -> None:
            try:
                if policy.episodes:
                    await memory.store(user, episode)
                if policy.extract_facts and self._facts is not None:
                    found = await self._facts.extract(turn.user_message.content, reply.content)
                    await self._facts.remember_new(memory, user, found, turn.conversation.id)
            except Exception as exc:  # after the response: logged, never a failed turn
                log.warning("memory_after_turn_failed", error_type=type(exc).__name__)

        self._tasks.spawn(write(), name="memory_after_turn")

    async def _start(self, turn: Turn) -> None:
        """Commit the user's message (and a new conversation) before the model is called."""
        assert turn.deps.user_id is not None
        if turn.new_conversation:
            await self._store.create(turn.conversation)
        await self._store.add_message(turn.deps.user_id, turn.user_message)
        self._metrics.turn_started(turn.framework.name)
        turn.started = time.perf_counter()

    async def _complete(self, turn: Turn, result: AgentRunResult[Any]) -> TurnResult:
        if isinstance(result.output, DeferredToolRequests):
            return await self._pause(turn, result, result.output)
        if turn.resumed:
            await self._store.set_message_status(
                turn.deps.user_id,  # type: ignore[arg-type]
                turn.user_message.id,
                MessageStatus.OK,
                None,
            )
        usage = usage_of(result)
        await observe_usage(turn.framework, turn.history, turn.model_prompt, usage)
        calls = tool_calls_of(result.new_messages())
        reply = Message(
            conversation_id=turn.conversation.id,
            role=Role.ASSISTANT,
            content=output_text(result.output),
            tool_calls=calls,
            token_count=usage.output_tokens,
            usage=usage.to_dict(),
            metadata={"agent": turn.framework.name},
        )
        await self._store.add_message(turn.deps.user_id, reply)  # type: ignore[arg-type]
        policy = turn.framework.definition.history
        await self._context.record(turn.conversation.id, [turn.user_message, reply], policy)
        self._write_episode(turn, reply)
        if turn.context is not None:
            self._context.summarize_later(
                turn.conversation.id, turn.context, [turn.user_message, reply]
            )
        self._metrics.turn_finished(
            turn.framework.name, "ok", time.perf_counter() - turn.started, usage
        )
        return TurnResult(turn.conversation.id, reply.id, result.output, usage, calls)

    async def _pause(
        self, turn: Turn, result: AgentRunResult[Any], requests: DeferredToolRequests
    ) -> TurnResult:
        """The model called approval-gated tools: keep the run's state and the calls for a
        person to decide on; the user's message waits (`pending_approval`), no reply yet."""
        user_id = turn.deps.user_id
        assert user_id is not None
        if self._approvals is None:
            raise MAIError("Tool approval is not configured on this server.")
        approval = Approval(
            user_id=user_id,
            conversation_id=turn.conversation.id,
            agent_name=turn.framework.name,
            message_id=turn.user_message.id,
            prompt=turn.user_message.content,
            calls=[
                PendingCall(c.tool_call_id, c.tool_name, c.args_as_dict())
                for c in requests.approvals
            ],
            state=result.all_messages_json().decode(),
        )
        await self._approvals.add(approval)
        await self._store.set_message_status(
            user_id, turn.user_message.id, MessageStatus.PENDING_APPROVAL, None
        )
        usage = usage_of(result)
        self._metrics.turn_finished(
            turn.framework.name, "pending_approval", time.perf_counter() - turn.started, usage
        )
        return TurnResult(
            turn.conversation.id,
            turn.user_message.id,
            None,
            usage,
            tool_calls_of(result.new_messages()),
            pending_approval=approval.to_public(),
        )

    async def _fail(self, turn: Turn, error: dict[str, Any], code: str) -> None:
        """Mark the user's message failed. Shielded: a cancelled consumer (client gone)
        must not cut this write short, or the message would look answered-but-empty."""
        assert turn.deps.user_id is not None
        write = asyncio.ensure_future(
            self._store.set_message_status(
                turn.deps.user_id, turn.user_message.id, MessageStatus.FAILED, error
            )
        )
        await asyncio.shield(write)
        self._metrics.turn_finished(
            turn.framework.name, code, time.perf_counter() - turn.started, None
        )


class SendMessage(ChatTurn):
    async def execute(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None = None,
        *,
        username: str | None = None,
        history: Sequence[ModelMessage] | None = None,
    ) -> TurnResult:
        turn = await self._prepare(user_id, agent, message, conversation_id, username, history)
        await self._start(turn)
        try:
            result = await turn.framework.run_async(
                turn.model_prompt, history=turn.history, deps=turn.deps
            )
        except MAIError as exc:
            await self._fail(turn, exc.to_dict()["error"], exc.code)
            # A new conversation was created for this turn: say which, so it can be resumed.
            exc.details.setdefault("conversation_id", str(turn.conversation.id))
            raise
        except BaseException:
            await self._fail(turn, CANCELLED, "CANCELLED")
            raise
        done = await self._complete(turn, result)
        announcer = Announcer(self._bus, turn.conversation.id, self._tasks)
        announcer.send(_done_event(done))
        announcer.close()
        return done


class StreamMessage(ChatTurn):
    async def execute(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None = None,
        *,
        username: str | None = None,
        history: Sequence[ModelMessage] | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Validate now (errors raise here, before any event); the returned stream stores the
        user's message when first read, then yields the turn's events, ending in DONE or
        ERROR. A stream never read leaves no trace."""
        turn = await self._prepare(user_id, agent, message, conversation_id, username, history)
        return self._announced(turn)

    async def _announced(self, turn: Turn) -> AsyncIterator[ChatEvent]:
        """The turn's events, also published for followers on any server process."""
        announcer = Announcer(self._bus, turn.conversation.id, self._tasks)
        try:
            # aclosing: a consumer that stops early closes the turn now (marked failed),
            # not whenever the inner generator is collected.
            async with aclosing(self._events(turn)) as events:
                async for event in events:
                    announcer.send(event)
                    yield event
        finally:
            announcer.close()

    async def _events(self, turn: Turn) -> AsyncGenerator[ChatEvent, None]:
        cid = turn.conversation.id
        first_token = True
        finished = False
        try:
            await self._start(turn)
        except Exception as exc:  # nothing was stored (the database is down?): say so in-band
            error = exc if isinstance(exc, MAIError) else _internal(exc)
            yield ChatEvent(
                ChatEventType.ERROR, cid, text=error.message, data=error.to_dict()["error"]
            )
            return
        try:
            stream = turn.framework.run_stream(
                turn.model_prompt, history=turn.history, deps=turn.deps
            )
            async for item in stream:
                if isinstance(item, TextDelta):
                    if first_token:
                        self._metrics.first_token(
                            turn.framework.name, time.perf_counter() - turn.started
                        )
                        first_token = False
                    yield ChatEvent(ChatEventType.DELTA, cid, text=item.text)
                elif isinstance(item, ToolCalled):
                    yield ChatEvent(
                        ChatEventType.TOOL_CALL,
                        cid,
                        data={"id": item.id, "name": item.name, "args": item.args},
                    )
                elif isinstance(item, ToolReturned):
                    yield ChatEvent(
                        ChatEventType.TOOL_RESULT,
                        cid,
                        data={"id": item.id, "name": item.name, "result": _jsonable(item.result)},
                    )
                elif isinstance(item, RunFinished):
                    done = await self._complete(turn, item.result)
                    finished = True
                    data = {"usage": done.usage.to_dict(), "output": _jsonable(done.output)}
                    if done.pending_approval is not None:
                        data["pending_approval"] = done.pending_approval
                    yield ChatEvent(ChatEventType.DONE, cid, message_id=done.message_id, data=data)
        except Exception as exc:  # the stream has started: report in-band, never raise
            error = exc if isinstance(exc, MAIError) else _internal(exc)
            finished = True
            try:
                await self._fail(turn, error.to_dict()["error"], error.code)
            except Exception as failed:  # e.g. the database went down mid-turn
                log.warning("chat_turn_failure_not_recorded", error_type=type(failed).__name__)
            yield ChatEvent(
                ChatEventType.ERROR,
                cid,
                text=error.message,
                message_id=turn.user_message.id,
                data=error.to_dict()["error"],
            )
        finally:
            if not finished:  # the consumer went away (or a bug): nothing half-written is kept
                await self._fail(turn, CANCELLED, "CANCELLED")


def sliding(framework: BaseAgentFramework[Any]) -> bool:
    """The earlier layout: recalled memories before the history (`HistoryPolicy.layout`)."""
    return framework.definition.history.layout == "sliding"


def _done_event(done: TurnResult) -> ChatEvent:
    data: dict[str, Any] = {"usage": done.usage.to_dict(), "output": _jsonable(done.output)}
    if done.pending_approval is not None:
        data["pending_approval"] = done.pending_approval
    return ChatEvent(
        ChatEventType.DONE, done.conversation_id, message_id=done.message_id, data=data
    )


def _internal(exc: Exception) -> MAIError:
    log.exception("chat_turn_crashed", error_type=type(exc).__name__)
    return MAIError("The turn failed unexpectedly.", retryable=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, str | int | float | bool | type(None) | list | dict):
        return value
    return str(value)


__all__ = [
    "ChatTurn",
    "SendMessage",
    "StreamMessage",
    "TurnUsage",
]
