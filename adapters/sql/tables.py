"""The relational schema, as SQLAlchemy Core tables shared by PostgreSQL and SQLite.

Core, not ORM: the domain's slotted dataclasses stay free of persistence concerns and each
adapter maps rows explicitly. The column types below hide the two dialects' differences so
the adapters never branch on them:

- `UTCDateTime` always hands back tz-aware UTC datetimes (SQLite drops the zone on the way in
  and returns naive values; PostgreSQL stores `timestamptz`).
- `Embedding` is pgvector's `vector(N)` on PostgreSQL and a JSON array elsewhere, always a
  `list[float]` in Python, and keeps pgvector's `cosine_distance()` & co. for queries.
- `JSONDoc` is `jsonb` on PostgreSQL (indexable, compact) and JSON elsewhere.

The authoritative DDL is the hand-written Alembic migration; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Operators,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

from adapters.settings import get_settings

# Stable constraint names: migrations can refer to them and error translation can match them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """`timestamptz` that reads and writes aware UTC datetimes on every dialect.

    Normalising on the way in matters as much as on the way out: SQLite stores the wall-clock
    text without the offset, so a non-UTC value would otherwise be silently shifted, and the
    keyset cursors compare these strings.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class _VectorOperators(UserDefinedType[list[float]]):
    """What `Embedding` compares through: pgvector's distance operators, as pgvector's own
    `VECTOR` declares them, without importing pgvector with the schema (issue #15: only the
    PostgreSQL dialect loads it, in `Embedding.load_dialect_impl`)."""

    cache_ok = True

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def get_col_spec(self, **kw: Any) -> str:
        return "VECTOR" if self.dim is None else f"VECTOR({self.dim})"

    class Comparator(UserDefinedType.Comparator[list[float]]):
        def l2_distance(self, other: object, /) -> Operators:
            return self.op("<->", return_type=Float)(other)

        def max_inner_product(self, other: object, /) -> Operators:
            return self.op("<#>", return_type=Float)(other)

        def cosine_distance(self, other: object, /) -> Operators:
            return self.op("<=>", return_type=Float)(other)

        def l1_distance(self, other: object, /) -> Operators:
            return self.op("<+>", return_type=Float)(other)

    comparator_factory = Comparator


class Embedding(TypeDecorator[list[float]]):
    """A fixed-size float vector: pgvector on PostgreSQL, a JSON array on other dialects.

    `impl` carries pgvector's operators so column expressions keep `cosine_distance()`; the
    dialect impl is pgvector's `VECTOR` on PostgreSQL and JSON elsewhere. Without an explicit
    `dim` the size is `MEMORY__EMBEDDING_DIM`, read on first use rather than at import so that
    importing the schema never fails on (or freezes) the environment.
    """

    impl = _VectorOperators
    cache_ok = True

    def __init__(self, dim: int | None = None) -> None:
        super().__init__(dim)
        self.dim = dim

    @property
    def size(self) -> int:
        return self.dim if self.dim is not None else embedding_dim_from_settings()

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from pgvector.sqlalchemy import VECTOR

            return dialect.type_descriptor(VECTOR(self.size))
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        floats = [float(v) for v in value]  # also accepts numpy arrays and tuples
        if len(floats) != self.size:
            raise ValueError(f"embedding has {len(floats)} dimensions, expected {self.size}")
        return floats

    def process_result_value(self, value: Any, dialect: Dialect) -> list[float] | None:
        return None if value is None else [float(v) for v in value]


def json_doc(*, none_as_null: bool = False) -> TypeEngine[Any]:
    """JSON on every dialect, stored as `jsonb` on PostgreSQL."""
    return JSON(none_as_null=none_as_null).with_variant(
        postgresql.JSONB(none_as_null=none_as_null), "postgresql"
    )


def embedding_dim_from_settings() -> int:
    """`MEMORY__EMBEDDING_DIM` (cached with the process's settings)."""
    return get_settings().memory.embedding_dim


def _created_updated() -> Sequence[Column[Any]]:
    return (
        Column("created_at", UTCDateTime(), nullable=False),
        Column("updated_at", UTCDateTime(), nullable=False),
    )


users = Table(
    "users",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("email", String(254), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("is_active", Boolean(), nullable=False, default=True),
    Column("is_superuser", Boolean(), nullable=False, default=False),
    *_created_updated(),
    # Unique indexes double as the lookup indexes for sign-in and registration checks.
    Index("uq_users_username", "username", unique=True),
    Index("uq_users_email", "email", unique=True),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("refresh_jti", String(128), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Column("revoked_reason", String(255), nullable=True),
    Index("ix_auth_sessions_user_id", "user_id"),
)

# Personal API keys (migration 0006): only the key's SHA-256 is stored; `prefix` is for lists.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    Index("uq_api_keys_key_hash", "key_hash", unique=True),
    Index("ix_api_keys_user_id", "user_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("agent_name", String(128), nullable=False),
    Column("title", String(255), nullable=False, default=""),
    *_created_updated(),
    Column("deleted_at", UTCDateTime(), nullable=True),
)
# The listing's keyset: newest first, ties broken by id (both descending).
Index(
    "ix_conversations_user_updated",
    conversations.c.user_id,
    conversations.c.updated_at.desc(),
    conversations.c.id.desc(),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column(
        "conversation_id",
        Uuid(),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("role", String(16), nullable=False),
    Column("content", Text(), nullable=False),
    Column("tool_calls", json_doc(), nullable=False),
    Column("tool_call_id", String(255), nullable=True),
    Column("token_count", Integer(), nullable=False, default=0),
    Column("status", String(16), nullable=False, default="ok"),
    Column("error", json_doc(none_as_null=True), nullable=True),
    Column("usage", json_doc(), nullable=False),
    Column("metadata", json_doc(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_messages_conversation_created", "conversation_id", "created_at", "id"),
)

memories = Table(
    "memories",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("content", Text(), nullable=False),
    Column("kind", String(16), nullable=False, default="episodic", server_default="episodic"),
    Column("metadata", json_doc(), nullable=False, server_default="{}"),
    Column("importance", Float(), nullable=False, default=0.5, server_default="0.5"),
    Column("access_count", Integer(), nullable=False, default=0, server_default="0"),
    Column("last_accessed_at", UTCDateTime(), nullable=True),
    *_created_updated(),
    # Provenance only, not foreign keys: a memory outlives the conversation it came from.
    Column("source_conversation_id", Uuid(), nullable=True),
    Column("source_message_id", Uuid(), nullable=True),
    Column("index_state", String(16), nullable=False, default="pending", server_default="pending"),
    Column("deleted_at", UTCDateTime(), nullable=True),
    Column("embedding", Embedding(), nullable=True),
    # Provenance and indexing (migration 0005): who wrote it, which model embedded it, the
    # neighbouring text it is indexed with, and what the full-text index sees.
    Column("source", String(16), nullable=False, default="user", server_default="user"),
    Column("embedding_model", String(200), nullable=True),
    Column("context", Text(), nullable=False, default="", server_default=""),
    Column("search_text", Text(), nullable=True),
    Index("ix_memories_user_created", "user_id", "created_at"),
)

tool_states = Table(
    "tool_states",
    metadata,
    # Keyed by name, not name@version: a switch covers every version of a tool.
    Column("name", String(64), primary_key=True),
    Column("enabled", Boolean(), nullable=False),
    # Audit only: the switch outlives the operator who flipped it.
    Column("changed_by", Uuid(), ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("changed_at", UTCDateTime(), nullable=False),
)

tool_approvals = Table(
    "tool_approvals",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column(
        "conversation_id",
        Uuid(),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("agent_name", String(64), nullable=False),
    Column("message_id", Uuid(), nullable=False),
    Column("prompt", Text(), nullable=False),
    Column("calls", json_doc(), nullable=False),
    Column("state", Text(), nullable=False),  # the serialised run history; can be large
    Column("status", String(16), nullable=False),
    Column("decisions", json_doc(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("resolved_at", UTCDateTime(), nullable=True),
    # "My pending approvals, newest first".
    Index("ix_tool_approvals_user_status_created", "user_id", "status", "created_at"),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("user_id", Uuid(), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("pipeline", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input", json_doc(), nullable=True),
    Column("output", json_doc(), nullable=True),
    Column("error", json_doc(none_as_null=True), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
    # "My runs, newest first" (the listing's keyset is created_at, then id).
    Index("ix_pipeline_runs_user_created", "user_id", "created_at"),
)

pipeline_stage_results = Table(
    "pipeline_stage_results",
    metadata,
    Column(
        "run_id",
        Uuid(),
        ForeignKey("pipeline_runs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("stage", String(128), primary_key=True),
    # The order the stages finished in, which is the order a run lists them.
    Column("position", Integer(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer(), nullable=False),
    Column("duration", Float(), nullable=False),
    Column("output", json_doc(), nullable=True),
    Column("error", json_doc(none_as_null=True), nullable=True),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("finished_at", UTCDateTime(), nullable=True),
)

# Eval runs are project-level (their evaluation users are removed after the run): no owner.
# Case scores are one JSON list: they are read and written with their run, never alone.
eval_runs = Table(
    "eval_runs",
    metadata,
    Column("id", Uuid(), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("dataset", String(200), nullable=False),
    Column("target", String(128), nullable=False),
    Column("model", String(200), nullable=True),
    Column("prompt_version", String(64), nullable=True),
    Column("score", Float(), nullable=False),
    Column("threshold", Float(), nullable=True),
    Column("metrics", json_doc(), nullable=False),
    Column("cases", json_doc(), nullable=False),
    Column("details", json_doc(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # "The newest runs" and "the newest run of this dataset".
    Index("ix_eval_runs_created", "created_at"),
    Index("ix_eval_runs_dataset_created", "dataset", "created_at"),
)
