"""Pipelines: the record of each run and of each of its stages.

Revision ID: 0004_pipelines
Revises: 0003_tools

A run belongs to a user and goes with them (CASCADE); its stage results go with the run.
Stage results are rows, not one JSON column on the run, so one stage's status or timing
can be queried (slowest stages, failures per stage) without unpacking documents, and
`position` keeps the order the stages finished in. Inputs and outputs are JSON (`jsonb`
on PostgreSQL). The index serves "my runs, newest first".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_pipelines"
down_revision: str | Sequence[str] | None = "0003_tools"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("pipeline", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", _json(), nullable=True),
        sa.Column("output", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("started_at", _timestamp(), nullable=True),
        sa.Column("finished_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pipeline_runs"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_pipeline_runs_user_id_users", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_pipeline_runs_user_created", "pipeline_runs", ["user_id", "created_at"])

    op.create_table(
        "pipeline_stage_results",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("stage", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=False),
        sa.Column("output", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        sa.Column("started_at", _timestamp(), nullable=True),
        sa.Column("finished_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "stage", name="pk_pipeline_stage_results"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pipeline_runs.id"],
            name="fk_pipeline_stage_results_run_id_pipeline_runs",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("pipeline_stage_results")
    op.drop_index("ix_pipeline_runs_user_created", table_name="pipeline_runs")
    op.drop_table("pipeline_runs")
