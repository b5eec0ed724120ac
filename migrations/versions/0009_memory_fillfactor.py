"""Memories: leave room on each PostgreSQL page so access counts update in place.

Revision ID: 0009_memory_fillfactor
Revises: 0008_memory_provenance

Every search counts an access on the memories it returns (`access_count`,
`last_accessed_at`: no index covers them). On full pages (the default fillfactor 100) each
such UPDATE writes a new tuple elsewhere and inserts it into every index, the HNSW graph
included: measured at 10k memories, ~20 ms per search. With free space on the page the
update is a HOT update (heap-only: no index is touched). Applies to pages written from now
on; `VACUUM FULL memories` rewrites the existing ones. SQLite: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_memory_fillfactor"
down_revision: str | Sequence[str] | None = "0008_memory_provenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE memories SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE memories RESET (fillfactor)")
