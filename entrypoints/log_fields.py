"""Log fields shared by every entrypoint (REST, GraphQL, CLI)."""

from __future__ import annotations

from uuid import UUID

import structlog


def bind_user(user_id: UUID) -> None:
    structlog.contextvars.bind_contextvars(user_id=str(user_id))
