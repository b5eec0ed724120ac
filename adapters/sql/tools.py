"""`ToolStateStore` and `ApprovalStore` on SQL: tool switches and paused turns.

Both stores lean on the database for atomicity, because several server processes share
them:

- A switch is one `INSERT ... ON CONFLICT (name) DO UPDATE` (PostgreSQL and SQLite >= 3.24
  both have it, through SQLAlchemy's dialect `insert`). Unlike update-then-insert it has no
  window in which two processes both see "no row" and one fails on the primary key.
- Resolving an approval is one conditional `UPDATE ... WHERE status = 'pending'`, so of many
  concurrent resolvers exactly one sees `rowcount == 1` and resumes the turn.

Every approval statement carries the owner's id: another user's approval looks unknown.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from adapters.clock import SystemClock
from adapters.sql.database import Database
from adapters.sql.tables import tool_approvals, tool_states
from domain.errors import Conflict
from domain.ports import Clock
from domain.tools.models import Approval, ApprovalStatus, PendingCall

_a = tool_approvals.c


def _calls_to_json(calls: list[PendingCall]) -> list[dict[str, Any]]:
    return [
        {"tool_call_id": c.tool_call_id, "tool_name": c.tool_name, "args": c.args} for c in calls
    ]


def _calls_from_json(raw: list[dict[str, Any]] | None) -> list[PendingCall]:
    return [
        PendingCall(tool_call_id=c["tool_call_id"], tool_name=c["tool_name"], args=c["args"])
        for c in raw or []
    ]


def _to_approval(row: RowMapping) -> Approval:
    return Approval(
        id=row["id"],
        user_id=row["user_id"],
        conversation_id=row["conversation_id"],
        agent_name=row["agent_name"],
        message_id=row["message_id"],
        prompt=row["prompt"],
        calls=_calls_from_json(row["calls"]),
        state=row["state"],
        status=ApprovalStatus(row["status"]),
        decisions=dict(row["decisions"] or {}),
        created_at=row["created_at"],
        resolved_at=row["resolved_at"],
    )


def _approval_values(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "user_id": approval.user_id,
        "conversation_id": approval.conversation_id,
        "agent_name": approval.agent_name,
        "message_id": approval.message_id,
        "prompt": approval.prompt,
        "calls": _calls_to_json(approval.calls),
        "state": approval.state,
        "status": approval.status.value,
        "decisions": dict(approval.decisions),
        "created_at": approval.created_at,
        "resolved_at": approval.resolved_at,
    }


class SqlToolStateStore:
    """The switches every process reads; `changed_by`/`changed_at` are kept for audit."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    async def switches(self) -> dict[str, bool]:
        async with self._db.transaction() as tx:
            result = await tx.execute(select(tool_states.c.name, tool_states.c.enabled))
            return {name: bool(enabled) for name, enabled in result.all()}

    async def set_enabled(self, name: str, enabled: bool, *, changed_by: UUID | None) -> None:
        values = {
            "name": name,
            "enabled": enabled,
            "changed_by": changed_by,
            "changed_at": self._clock.now(),
        }
        changes = {k: v for k, v in values.items() if k != "name"}
        if self._db.dialect == "postgresql":
            pg = postgresql.insert(tool_states).values(values)
            statement: Any = pg.on_conflict_do_update(index_elements=["name"], set_=changes)
        else:
            lite = sqlite.insert(tool_states).values(values)
            statement = lite.on_conflict_do_update(index_elements=["name"], set_=changes)
        async with self._db.transaction() as tx:
            await tx.execute(statement)


class SqlApprovalStore:
    """Approvals owned by a user; `resolve` is compare-and-set on `status`."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self._db = db
        self._clock = clock or SystemClock()

    async def add(self, approval: Approval) -> None:
        """Store a new approval; `Conflict` if the id exists or its owner/conversation does not."""
        try:
            async with self._db.transaction() as tx:
                await tx.execute(insert(tool_approvals).values(_approval_values(approval)))
        except IntegrityError:
            raise Conflict(
                "That approval cannot be stored.", details={"id": str(approval.id)}
            ) from None

    async def get(self, user_id: UUID, approval_id: UUID) -> Approval | None:
        query = select(tool_approvals).where(_a.id == approval_id, _a.user_id == user_id)
        async with self._db.transaction() as tx:
            row = (await tx.execute(query)).mappings().first()
        return None if row is None else _to_approval(row)

    async def for_user(self, user_id: UUID, status: ApprovalStatus | None = None) -> list[Approval]:
        query = select(tool_approvals).where(_a.user_id == user_id)
        if status is not None:
            query = query.where(_a.status == status.value)
        query = query.order_by(_a.created_at.desc(), _a.id.desc())
        async with self._db.transaction() as tx:
            return [_to_approval(row) for row in (await tx.execute(query)).mappings()]

    async def resolve(
        self,
        user_id: UUID,
        approval_id: UUID,
        status: ApprovalStatus,
        decisions: dict[str, bool | str],
    ) -> bool:
        if status is ApprovalStatus.PENDING:
            raise ValueError("an approval is resolved to approved or rejected, not pending")
        statement = (
            update(tool_approvals)
            .where(
                _a.id == approval_id,
                _a.user_id == user_id,
                _a.status == ApprovalStatus.PENDING.value,
            )
            .values(status=status.value, decisions=dict(decisions), resolved_at=self._clock.now())
        )
        async with self._db.transaction() as tx:
            result = await tx.execute(statement)
        return bool(result.rowcount == 1)
