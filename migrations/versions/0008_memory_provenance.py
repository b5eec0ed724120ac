"""Memories: provenance, the embedding model, and what they are found by.

Revision ID: 0008_memory_provenance
Revises: 0007_eval_runs

- `source` (user | tool | extraction | episodic) and `embedding_model` (the model that made
  `embedding`; NULL = unknown, re-embedded by `mai memory reindex`).
- `context` (the neighbouring text a memory is indexed with) and `search_text` (what the
  full-text index sees: dates from metadata, the context, the content). Existing rows get
  their content as `search_text`.
- Full-text search moves from `content` to `search_text`, and gains stemming: PostgreSQL's
  'english' configuration (Snowball stemmer and stop words) instead of 'simple'; SQLite's
  FTS5 `porter unicode61` tokenizer instead of `unicode61`. Measured on LoCoMo's dev split,
  stemming with stop words dropped from the query lifts lexical recall@10 from 0.54 to 0.61
  (BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_memory_provenance"
down_revision: str | Sequence[str] | None = "0007_eval_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SQLITE_FTS = [
    "DROP TRIGGER IF EXISTS memories_fts_update",
    "DROP TRIGGER IF EXISTS memories_fts_delete",
    "DROP TRIGGER IF EXISTS memories_fts_insert",
    "DROP TABLE IF EXISTS memories_fts",
]


NEW_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE memories_fts USING fts5(search_text, content='memories', "
    "content_rowid='rowid', tokenize='porter unicode61')",
    "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN "
    "INSERT INTO memories_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN "
    "INSERT INTO memories_fts(memories_fts, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER memories_fts_update AFTER UPDATE OF search_text ON memories BEGIN "
    "INSERT INTO memories_fts(memories_fts, rowid, search_text) "
    "VALUES ('delete', old.rowid, old.search_text); "
    "INSERT INTO memories_fts(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')",
]
#: Revision 0002's index, restored by the downgrade.
CONTENT_SQLITE_FTS = [
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


def upgrade() -> None:
    with op.batch_alter_table("memories") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="user"))
        batch.add_column(sa.Column("embedding_model", sa.String(200), nullable=True))
        batch.add_column(sa.Column("context", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=True))
    op.execute("UPDATE memories SET search_text = content")
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_memories_content_tsv")
        op.execute("ALTER TABLE memories DROP COLUMN IF EXISTS content_tsv")
        op.execute(
            "ALTER TABLE memories ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
            "(to_tsvector('english', coalesce(search_text, content))) STORED"
        )
        op.execute("CREATE INDEX ix_memories_search_tsv ON memories USING gin (search_tsv)")
    else:
        for statement in [*OLD_SQLITE_FTS, *NEW_SQLITE_FTS]:
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        op.execute("DROP INDEX IF EXISTS ix_memories_search_tsv")
        op.execute("ALTER TABLE memories DROP COLUMN IF EXISTS search_tsv")
    else:
        for statement in OLD_SQLITE_FTS:
            op.execute(statement)
    with op.batch_alter_table("memories") as batch:
        batch.drop_column("search_text")
        batch.drop_column("context")
        batch.drop_column("embedding_model")
        batch.drop_column("source")
    if postgres:
        op.execute(
            "ALTER TABLE memories ADD COLUMN content_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED"
        )
        op.execute("CREATE INDEX ix_memories_content_tsv ON memories USING gin (content_tsv)")
    else:
        for statement in CONTENT_SQLITE_FTS:
            op.execute(statement)
