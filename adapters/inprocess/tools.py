"""In-process `ToolStateStore` and `ApprovalStore`: the SQL adapters' behaviour over dicts.

The contract suite (tests/contract/test_tool_stores.py) runs these and the SQL stores alike.
State is public for tests to inspect; approvals are copied in and out, as a database
would. `resolve` checks and sets with no `await` in between, so within one event loop it
is as atomic as the SQL conditional UPDATE.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from adapters.clock import SystemClock
from domain.errors import Conflict
from domain.ports import Clock
from domain.tools.models import Approval, ApprovalStatus, PendingCall


@dataclass(frozen=True, slots=True)
class ToolSwitch:
    """One row of `tool_states`."""

    enabled: bool
    changed_by: UUID | None
    changed_at: datetime


class InProcessToolStateStore:
    def __init__(self, clock: Clock | None = None) -> None:
        self.states: dict[str, ToolSwitch] = {}
        self._clock = clock or SystemClock()

    async def switches(self) -> dict[str, bool]:
        return {name: s.enabled for name, s in self.states.items()}

    async def set_enabled(self, name: str, enabled: bool, *, changed_by: UUID | None) -> None:
        self.states[name] = ToolSwitch(enabled, changed_by, self._clock.now())


class InProcessApprovalStore:
    def __init__(self, clock: Clock | None = None) -> None:
        self.approvals: dict[UUID, Approval] = {}
        self._clock = clock or SystemClock()

    def _owned(self, user_id: UUID, approval_id: UUID) -> Approval | None:
        found = self.approvals.get(approval_id)
        return found if found is not None and found.user_id == user_id else None

    async def add(self, approval: Approval) -> None:
        if approval.id in self.approvals:
            raise Conflict("That approval cannot be stored.", details={"id": str(approval.id)})
        self.approvals[approval.id] = _copy(approval)

    async def get(self, user_id: UUID, approval_id: UUID) -> Approval | None:
        found = self._owned(user_id, approval_id)
        return None if found is None else _copy(found)

    async def for_user(self, user_id: UUID, status: ApprovalStatus | None = None) -> list[Approval]:
        mine = [
            a
            for a in self.approvals.values()
            if a.user_id == user_id and (status is None or a.status == status)
        ]
        mine.sort(key=lambda a: (a.created_at, a.id), reverse=True)
        return [_copy(a) for a in mine]

    async def resolve(
        self,
        user_id: UUID,
        approval_id: UUID,
        status: ApprovalStatus,
        decisions: dict[str, bool | str],
    ) -> bool:
        if status is ApprovalStatus.PENDING:
            raise ValueError("an approval is resolved to approved or rejected, not pending")
        found = self._owned(user_id, approval_id)
        if found is None or found.status != ApprovalStatus.PENDING:
            return False
        found.status = status
        found.decisions = dict(decisions)
        found.resolved_at = self._clock.now()
        return True


def _copy(approval: Approval) -> Approval:
    """A copy sharing no mutable state with the store (call args are nested JSON)."""
    return replace(
        approval,
        calls=[PendingCall(c.tool_call_id, c.tool_name, deepcopy(c.args)) for c in approval.calls],
        decisions=dict(approval.decisions),
    )
