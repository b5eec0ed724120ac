"""Ports of the tools capability."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from domain.tools.models import Approval, ApprovalStatus


class ToolStateStore(Protocol):
    """The persisted on/off switch per tool name, shared by every server process."""

    async def switches(self) -> dict[str, bool]:
        """Every tool someone switched, name → enabled."""

    async def set_enabled(self, name: str, enabled: bool, *, changed_by: UUID | None) -> None: ...


class ApprovalStore(Protocol):
    """Paused turns waiting for a person, owned by a user."""

    async def add(self, approval: Approval) -> None: ...

    async def get(self, user_id: UUID, approval_id: UUID) -> Approval | None:
        """The user's approval, or None (also for another user's id)."""

    async def for_user(self, user_id: UUID, status: ApprovalStatus | None = None) -> list[Approval]:
        """The user's approvals, newest first."""

    async def resolve(
        self,
        user_id: UUID,
        approval_id: UUID,
        status: ApprovalStatus,
        decisions: dict[str, bool | str],
    ) -> bool:
        """Move a pending approval to `status`, atomically: True for exactly one caller
        even when several processes race; False if it was no longer pending (or not theirs)."""


class ToolMetrics(Protocol):
    """Counts and times tool calls (Prometheus in production)."""

    def call_finished(self, tool: str, version: str, outcome: str, seconds: float) -> None:
        """`outcome`: ok, error, timeout, rate_limited, refused, approval_required."""

    def cache_hit(self, tool: str, version: str) -> None: ...

    def retried(self, tool: str, version: str) -> None: ...
