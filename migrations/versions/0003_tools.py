"""Tools: the persisted on/off switch per tool, and the approvals paused turns wait for.

Revision ID: 0003_tools
Revises: 0002_memory_search

`tool_states` is keyed by tool name (a switch covers every version); who flipped it is kept
for the audit trail but survives the user's deletion (SET NULL). `tool_approvals` belong to
a user and a conversation and go with either (CASCADE). `state` is the serialised run
history, unbounded text on both dialects. The index serves "my pending approvals, newest
first".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_tools"
down_revision: str | Sequence[str] | None = "0002_memory_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "tool_states",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("changed_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tool_states"),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name="fk_tool_states_changed_by_users",
            ondelete="SET NULL",
        ),
    )

    op.create_table(
        "tool_approvals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("agent_name", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("calls", _json(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decisions", _json(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("resolved_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tool_approvals"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_tool_approvals_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_tool_approvals_conversation_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_tool_approvals_user_status_created",
        "tool_approvals",
        ["user_id", "status", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_tool_approvals_user_status_created", table_name="tool_approvals")
    op.drop_table("tool_approvals")
    op.drop_table("tool_states")
