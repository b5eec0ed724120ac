"""Resuming a turn paused for a person's approval of tool calls."""

from __future__ import annotations

import time
from uuid import UUID

from pydantic_ai import DeferredToolResults, ToolDenied
from pydantic_ai.messages import ModelMessagesTypeAdapter

from application.agents.framework import AgentDeps
from application.chat import CANCELLED, ChatTurn, Turn
from domain.agents.models import TurnResult
from domain.conversations.models import Message, Role
from domain.errors import MAIError, NotFound
from domain.tools.errors import ApprovalNotFound, ApprovalResolved
from domain.tools.models import Approval, ApprovalStatus


class ResolveApproval(ChatTurn):
    """A person approves or rejects the calls of a paused turn; the turn then resumes from
    its stored state (approved calls run, rejected ones tell the model why) and finishes
    like any other: the reply is stored, or it pauses again for the next gated call."""

    async def execute(
        self,
        user_id: UUID,
        approval_id: UUID,
        approve: bool,
        *,
        reason: str | None = None,
        decisions: dict[str, bool] | None = None,
    ) -> TurnResult:
        if self._approvals is None:
            raise ApprovalNotFound("Approval not found.", details={"id": str(approval_id)})
        approval = await self._approvals.get(user_id, approval_id)
        if approval is None:
            raise ApprovalNotFound("Approval not found.", details={"id": str(approval_id)})
        wanted = {c.tool_call_id: approve for c in approval.calls} | (decisions or {})
        denial = reason or "The user rejected this tool call."
        chosen: dict[str, bool | str] = {k: True if v else denial for k, v in wanted.items()}
        status = ApprovalStatus.APPROVED if all(wanted.values()) else ApprovalStatus.REJECTED
        if not await self._approvals.resolve(user_id, approval_id, status, chosen):
            raise ApprovalResolved(
                "This approval was already decided.", details={"id": str(approval_id)}
            )
        turn = await self._resumed(user_id, approval)
        results = DeferredToolResults(
            approvals={k: True if v is True else ToolDenied(str(v)) for k, v in chosen.items()}
        )
        self._metrics.turn_started(turn.framework.name)
        turn.started = time.perf_counter()
        try:
            result = await turn.framework.run_async(
                None, history=turn.history, deps=turn.deps, deferred_results=results
            )
        except MAIError as exc:
            await self._fail(turn, exc.to_dict()["error"], exc.code)
            raise
        except BaseException:
            await self._fail(turn, CANCELLED, "CANCELLED")
            raise
        return await self._complete(turn, result)

    async def _resumed(self, user_id: UUID, approval: Approval) -> Turn:
        conversation = await self._store.get(user_id, approval.conversation_id)
        if conversation is None:
            raise NotFound(
                "Conversation not found.",
                details={"conversation_id": str(approval.conversation_id)},
            )
        framework = self._agents.get(approval.agent_name)
        user_message = Message(
            conversation_id=conversation.id,
            role=Role.USER,
            content=approval.prompt,
            id=approval.message_id,
        )
        deps = AgentDeps(user_id=user_id, conversation_id=conversation.id, memory=self._memory())
        history = ModelMessagesTypeAdapter.validate_json(approval.state)
        return Turn(framework, conversation, user_message, deps, history, 0.0, False, None, True)
