"""Full-text search over memories, and an index for the outbox.

Revision ID: 0002_memory_search
Revises: 0001_initial

PostgreSQL: a generated `tsvector` column (the 'simple' configuration: no stemming, so
names, dates and numbers match exactly) with a GIN index. SQLite: an FTS5 table over
`memories.content`, kept in step by triggers. Both: a partial index on the rows the
reconciler still has to index.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_memory_search"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE memories_fts USING fts5("
    "content, content='memories', content_rowid='rowid', tokenize='unicode61')",
    "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN "
    "INSERT INTO memories_fts(rowid, content) VALUES (new.rowid, new.content); END",
    "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN "
    "INSERT INTO memories_fts(memories_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); END",
    "CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN "
    "INSERT INTO memories_fts(memories_fts, rowid, content) "
    "VALUES ('delete', old.rowid, old.content); "
    "INSERT INTO memories_fts(rowid, content) VALUES (new.rowid, new.content); END",
    "INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS memories_fts_update",
    "DROP TRIGGER IF EXISTS memories_fts_delete",
    "DROP TRIGGER IF EXISTS memories_fts_insert",
    "DROP TABLE IF EXISTS memories_fts",
]


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE memories ADD COLUMN content_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED"
        )
        op.execute("CREATE INDEX ix_memories_content_tsv ON memories USING gin (content_tsv)")
    else:
        for statement in SQLITE_UP:
            op.execute(statement)
    op.execute(
        "CREATE INDEX ix_memories_outbox ON memories (created_at) WHERE index_state <> 'indexed'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_memories_outbox")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_memories_content_tsv")
        op.execute("ALTER TABLE memories DROP COLUMN IF EXISTS content_tsv")
    else:
        for statement in SQLITE_DOWN:
            op.execute(statement)
