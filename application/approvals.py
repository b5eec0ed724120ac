"""Resuming a turn paused for a person's approval of tool calls."""

from __future__ import annotations

from uuid import UUID

from pydantic_ai import DeferredToolResults, ToolDenied

from application.chat_recorder import TurnRecorder
from application.chat_turn import TurnPreparer
from domain.agents.models import TurnResult
from domain.tools.errors import ApprovalNotFound, ApprovalResolved
from domain.tools.models import ApprovalStatus
from domain.tools.ports import ApprovalStore


class ResolveApproval:
    """A person approves or rejects the calls of a paused turn; the turn then resumes from
    its stored state (approved calls run, rejected ones tell the model why) and finishes
    like any other: the reply is stored, or it pauses again for the next gated call."""

    def __init__(
        self, approvals: ApprovalStore | None, preparer: TurnPreparer, recorder: TurnRecorder
    ) -> None:
        self._approvals = approvals
        self._preparer = preparer
        self._recorder = recorder

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
        turn = await self._preparer.resume(user_id, approval)
        results = DeferredToolResults(
            approvals={k: True if v is True else ToolDenied(str(v)) for k, v in chosen.items()}
        )
        self._recorder.begin(turn)
        async with self._recorder.guard(turn):
            result = await turn.runner.run_async(
                None, history=turn.history, deps=turn.deps, deferred_results=results
            )
            return await self._recorder.complete(turn, result)
