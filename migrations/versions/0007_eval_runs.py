"""Eval runs: each scored run of an agent dataset or a memory retrieval set.

Revision ID: 0007_eval_runs
Revises: 0006_api_keys

Project-level rows (no owner: the evaluation users a run creates are removed after it).
Case scores are one JSON list (`jsonb` on PostgreSQL), read and written with their run.
The indexes serve "newest runs" and "newest run of this dataset" (the score gauge).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007_eval_runs"
down_revision: str | Sequence[str] | None = "0006_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dataset", sa.String(200), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("prompt_version", sa.String(64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("metrics", _json(), nullable=False),
        sa.Column("cases", _json(), nullable=False),
        sa.Column("details", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_eval_runs"),
    )
    op.create_index("ix_eval_runs_created", "eval_runs", ["created_at"])
    op.create_index("ix_eval_runs_dataset_created", "eval_runs", ["dataset", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_eval_runs_dataset_created", table_name="eval_runs")
    op.drop_index("ix_eval_runs_created", table_name="eval_runs")
    op.drop_table("eval_runs")
