"""Memories: PostgreSQL's full-text index takes each write at once, with no pending list.

Revision ID: 0010_memory_fulltext_list
Revises: 0009_memory_fillfactor

A GIN index queues new entries in a pending list (`fastupdate`, on by default) that every
search scans in full until VACUUM or autoanalyze merges it (up to `gin_pending_list_limit`,
4 MB). Measured after a bulk load of 10k memories: the lexical search's index scan read 516
pages of pending list, 6 ms of its 9.3 ms; merged, 0.17 ms (3.5 ms in all). Without the
list, an insert costs ~0.03 ms more (10k rows: 51 -> 353 ms), which a memory write (an
embedding, an HNSW insert) does not notice; search no longer depends on when autovacuum
last ran. Already-pending entries are merged here too. SQLite: nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010_memory_fulltext_list"
down_revision: str | Sequence[str] | None = "0009_memory_fillfactor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_memories_search_tsv SET (fastupdate = off)")
        op.execute("SELECT gin_clean_pending_list('ix_memories_search_tsv'::regclass)")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_memories_search_tsv RESET (fastupdate)")
