"""Use-cases over the registry for the entrypoints: list, switch, invoke, approvals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from application.agents.runner import AgentDeps
from application.memory import LongTermMemory
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from domain.errors import PermissionDenied
from domain.identity.models import User
from domain.tools.errors import ApprovalNotFound
from domain.tools.models import Approval, ApprovalStatus, ToolMetadata
from domain.tools.ports import ApprovalStore


class Tools:
    def __init__(
        self,
        registry: ToolRegistry,
        memory: Callable[[], LongTermMemory | None] = lambda: None,
    ) -> None:
        self.registry = registry
        self._memory = memory

    async def all(self, category: str | None = None) -> list[ToolMetadata]:
        """Every version of every tool with its current switch (re-read, not cached)."""
        await self.registry.switches(fresh=True)
        return [m for m in self.registry.all() if category is None or m.category == category]

    async def get(self, name: str, version: str | None = None) -> ToolMetadata:
        await self.registry.switches(fresh=True)
        return self.registry.get(name, version)

    async def set_enabled(self, actor: User | None, name: str, enabled: bool) -> ToolMetadata:
        """Superusers only (`actor=None` is the local operator, e.g. the CLI)."""
        if actor is not None and not actor.is_superuser:
            raise PermissionDenied("Only a superuser can switch tools on or off.")
        return await self.registry.set_enabled(
            name, enabled, changed_by=actor.id if actor else None
        )

    async def invoke(
        self, user_id: UUID, name: str, args: dict[str, Any], version: str | None = None
    ) -> tuple[ToolMetadata, Any]:
        meta = self.registry.get(name, version)
        deps = AgentDeps(user_id=user_id, memory=self._memory())
        return meta, await invoke(self.registry, name, args, deps, meta.version)


class Approvals:
    def __init__(self, store: ApprovalStore) -> None:
        self._store = store

    async def for_user(self, user_id: UUID, status: ApprovalStatus | None = None) -> list[Approval]:
        return await self._store.for_user(user_id, status)

    async def get(self, user_id: UUID, approval_id: UUID) -> Approval:
        found = await self._store.get(user_id, approval_id)
        if found is None:
            raise ApprovalNotFound("Approval not found.", details={"id": str(approval_id)})
        return found
