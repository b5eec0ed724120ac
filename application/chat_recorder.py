"""Every write of a chat turn, and the one guard around its run.

The user's message is committed before the model is called (`start`), the assistant's
only when the run completes (`complete`), so a failed turn (model down, tool crash, client
gone) leaves the conversation consistent: the user's message is there, marked failed with
the error (`guard`). A run that stops for a person's approval keeps its state and marks the
message waiting instead. After the reply, the turn may be written to the user's long-term
memory (an episode, extracted facts) off the request path.

Failure behaviour: a failure that cannot itself be recorded (the database went down
mid-turn) is logged and the turn's own error is what the caller sees; after-the-turn
memory work that fails is logged, never a failed turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from pydantic import BaseModel
from pydantic_ai import DeferredToolRequests
from pydantic_ai.run import AgentRunResult

from application.agents.budgeting import observe_usage
from application.agents.history import tool_calls_of
from application.agents.runner import usage_of
from application.chat_turn import Turn
from application.conversation_window import ConversationWindow
from application.facts import FactExtractor
from application.memory import NewMemory
from domain.agents.models import TurnResult
from domain.agents.ports import ChatMetrics
from domain.conversations.models import Message, MessageStatus, Role
from domain.conversations.ports import ConversationStore
from domain.errors import MAIError
from domain.memory.long_term import MAX_MEMORY_CHARS, MemoryKind, MemorySource
from domain.ports import BackgroundTasks
from domain.tools.models import Approval, PendingCall
from domain.tools.ports import ApprovalStore

log = structlog.get_logger("mai.chat")
CANCELLED = {"code": "CANCELLED", "message": "The turn was cancelled before it completed."}


def output_text(output: Any) -> str:
    return output.model_dump_json() if isinstance(output, BaseModel) else str(output)


def as_error(exc: Exception) -> MAIError:
    """What a turn reports for `exc`: itself when it is the framework's, else a logged crash."""
    if isinstance(exc, MAIError):
        return exc
    log.exception("chat_turn_crashed", error_type=type(exc).__name__)
    return MAIError("The turn failed unexpectedly.", retryable=True)


class TurnRecorder:
    def __init__(
        self,
        conversations: ConversationStore,
        window: ConversationWindow,
        metrics: ChatMetrics,
        facts: FactExtractor | None = None,
        approvals: ApprovalStore | None = None,
        *,
        tasks: BackgroundTasks,
    ) -> None:
        self.tasks = tasks  # after-the-turn work and event publishing outlive the turn
        self._store = conversations
        self._window = window
        self._metrics = metrics
        self._facts = facts
        self._approvals = approvals

    async def start(self, turn: Turn) -> None:
        """Commit the user's message (and a new conversation) before the model is called."""
        if turn.new_conversation:  # one write: the conversation with its first message
            await self._store.create(turn.conversation, turn.user_message)
        else:
            await self._store.add_message(turn.deps.user_id, turn.user_message)
        turn.stored = True
        self.begin(turn)

    def begin(self, turn: Turn) -> None:
        """The run starts now (a resumed turn's user message is stored already)."""
        self._metrics.turn_started(turn.runner.name)
        turn.started = time.perf_counter()

    def first_token(self, turn: Turn) -> None:
        self._metrics.first_token(turn.runner.name, time.perf_counter() - turn.started)

    @asynccontextmanager
    async def guard(self, turn: Turn) -> AsyncIterator[None]:
        """The run of a started turn. Whatever ends it before `complete` is recorded on the
        user's message: an error as itself (a crash as INTERNAL_ERROR, which is raised in its
        place); a cancellation, a consumer gone or a run that ended without a result as
        CANCELLED. Nothing half-written is kept."""
        try:
            yield
        except Exception as exc:
            if turn.finished:
                raise
            error = as_error(exc)
            try:
                await self.fail(turn, error.to_dict()["error"], error.code)
            except Exception as failed:  # e.g. the database went down mid-turn
                log.warning("chat_turn_failure_not_recorded", error_type=type(failed).__name__)
            if error is exc:
                raise
            raise error from exc
        except BaseException:
            if not turn.finished:
                await self.fail(turn, CANCELLED, "CANCELLED")
            raise
        if not turn.finished:
            await self.fail(turn, CANCELLED, "CANCELLED")

    async def complete(self, turn: Turn, result: AgentRunResult[Any]) -> TurnResult:
        """Store the reply (or, for calls waiting on a person, pause the turn)."""
        if isinstance(result.output, DeferredToolRequests):
            return await self._pause(turn, result, result.output)
        user_id = turn.deps.user_id
        if turn.resumed:
            await self._store.set_message_status(
                user_id, turn.user_message.id, MessageStatus.OK, None
            )
        usage = usage_of(result)
        await observe_usage(turn.runner, turn.history, turn.model_prompt, usage)
        calls = tool_calls_of(result.new_messages())
        reply = Message(
            conversation_id=turn.conversation.id,
            role=Role.ASSISTANT,
            content=output_text(result.output),
            tool_calls=calls,
            token_count=usage.output_tokens,
            usage=usage.to_dict(),
            metadata={"agent": turn.runner.name},
        )
        await self._store.add_message(user_id, reply)
        policy = turn.runner.definition.history
        await self._window.record(turn.conversation.id, [turn.user_message, reply], policy)
        self._write_episode(turn, reply)
        if turn.window is not None:
            self._window.summarize_later(
                turn.conversation.id, turn.window, [turn.user_message, reply]
            )
        turn.finished = True
        self._metrics.turn_finished(
            turn.runner.name, "ok", time.perf_counter() - turn.started, usage
        )
        return TurnResult(turn.conversation.id, reply.id, result.output, usage, calls)

    async def fail(self, turn: Turn, error: dict[str, Any], code: str) -> None:
        """Mark the user's message failed. Shielded: a cancelled consumer (client gone)
        must not cut this write short, or the message would look answered-but-empty."""
        write = asyncio.ensure_future(
            self._store.set_message_status(
                turn.deps.user_id, turn.user_message.id, MessageStatus.FAILED, error
            )
        )
        await asyncio.shield(write)
        self._metrics.turn_finished(
            turn.runner.name, code, time.perf_counter() - turn.started, None
        )

    async def _pause(
        self, turn: Turn, result: AgentRunResult[Any], requests: DeferredToolRequests
    ) -> TurnResult:
        """The model called approval-gated tools: keep the run's state and the calls for a
        person to decide on; the user's message waits (`pending_approval`), no reply yet."""
        user_id = turn.deps.user_id
        if self._approvals is None:
            raise MAIError("Tool approval is not configured on this server.")
        approval = Approval(
            user_id=user_id,
            conversation_id=turn.conversation.id,
            agent_name=turn.runner.name,
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
        turn.finished = True
        usage = usage_of(result)
        self._metrics.turn_finished(
            turn.runner.name, "pending_approval", time.perf_counter() - turn.started, usage
        )
        return TurnResult(
            turn.conversation.id,
            turn.user_message.id,
            None,
            usage,
            tool_calls_of(result.new_messages()),
            pending_approval=approval.to_public(),
        )

    def _write_episode(self, turn: Turn, reply: Message) -> None:
        """After the response: remember the turn as an episode and/or extract its facts."""
        memory, user = turn.deps.memory, turn.deps.user_id
        policy = turn.runner.definition.memory
        if memory is None or not (policy.episodes or policy.extract_facts):
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

        self.tasks.spawn(write(), name="memory_after_turn")
