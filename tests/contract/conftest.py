"""One contract suite per port, run against every backend that implements it.

`memory` (the fakes), `sqlite` (a migrated temp file) and `postgres` (marked `integration`,
`MAI_TEST_PG_URL`) each get the same tests, so the fakes the BDD suite relies on cannot drift
from the real adapters. Databases are migrated once per session with the production
migration code and emptied before every test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import text

from adapters.inprocess.api_keys import InProcessApiKeyStore
from adapters.inprocess.conversations import InProcessConversationStore
from adapters.inprocess.eval_runs import InProcessEvalRunStore
from adapters.inprocess.identity import InProcessSessionStore, InProcessUserRepository
from adapters.inprocess.memories import InProcessMemoryRepository
from adapters.inprocess.pipeline_runs import InProcessPipelineRunStore
from adapters.inprocess.tools import InProcessApprovalStore, InProcessToolStateStore
from adapters.redis.client import RedisClient, RedisOptions
from adapters.sql.api_keys import SqlApiKeyStore
from adapters.sql.conversations import SqlConversationStore
from adapters.sql.database import Database
from adapters.sql.eval_runs import SqlEvalRunStore
from adapters.sql.memories import SqlMemoryRepository
from adapters.sql.migrate import upgrade
from adapters.sql.pipeline_runs import SqlPipelineRunStore
from adapters.sql.sessions import SqlSessionStore
from adapters.sql.tools import SqlApprovalStore, SqlToolStateStore
from adapters.sql.users import SqlUserRepository
from domain.conversations.ports import ConversationStore
from domain.evals.ports import EvalRunStore
from domain.identity.models import User
from domain.identity.ports import ApiKeyStore, SessionStore, UserRepository
from domain.memory.long_term_ports import MemoryRepository
from domain.pipelines.ports import PipelineRunStore
from domain.tools.ports import ApprovalStore, ToolStateStore
from tests.conftest import REDIS_URL

PG_URL = os.environ.get("MAI_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_test")
TABLES_CHILD_FIRST = (
    "api_keys",
    "eval_runs",
    "pipeline_stage_results",
    "pipeline_runs",
    "tool_approvals",
    "tool_states",
    "memories",
    "messages",
    "conversations",
    "auth_sessions",
    "users",
)
BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

MakeUser = Callable[[str], Awaitable[User]]


def at(seconds: float) -> datetime:
    """A fixed instant `seconds` after BASE_TIME: deterministic ordering in every backend."""
    return BASE_TIME + timedelta(seconds=seconds)


@pytest.fixture(scope="session")
async def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('contract') / 'mai.db'}"
    await upgrade(url)
    db = Database.from_url(url)
    yield db
    await db.close()


@pytest.fixture(scope="session")
async def postgres_database() -> AsyncIterator[Database]:
    await upgrade(PG_URL)
    db = Database.from_url(PG_URL, pool_size=4)
    yield db
    await db.close()


@pytest.fixture(
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.integration)]
)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


#: For behaviour only a database has (foreign-key cascades): the SQL backends alone.
SQL_ONLY = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.integration)], indirect=True
)


@pytest.fixture
def database(request: pytest.FixtureRequest, backend: str) -> Database | None:
    """The backend's migrated database (None for the fakes); only the one needed is opened."""
    if backend == "memory":
        return None
    db: Database = request.getfixturevalue(f"{backend}_database")
    return db


@pytest.fixture
async def clean_database(database: Database | None) -> Database | None:
    if database is not None:
        async with database.transaction() as tx:
            if database.dialect == "postgresql":
                await tx.execute(text(f"TRUNCATE {', '.join(TABLES_CHILD_FIRST)} CASCADE"))
            else:
                for table in TABLES_CHILD_FIRST:
                    await tx.execute(text(f"DELETE FROM {table}"))
    return database


@pytest.fixture
def user_repository(clean_database: Database | None) -> UserRepository:
    if clean_database is None:
        return InProcessUserRepository()
    return SqlUserRepository(clean_database)


@pytest.fixture
def session_store(clean_database: Database | None, user_repository: UserRepository) -> SessionStore:
    if clean_database is None:
        assert isinstance(user_repository, InProcessUserRepository)
        return InProcessSessionStore(user_repository)
    return SqlSessionStore(clean_database)


@pytest.fixture
def api_key_store(clean_database: Database | None, user_repository: UserRepository) -> ApiKeyStore:
    if clean_database is None:
        assert isinstance(user_repository, InProcessUserRepository)
        return InProcessApiKeyStore(user_repository)
    return SqlApiKeyStore(clean_database)


@pytest.fixture
def conversation_store(clean_database: Database | None) -> ConversationStore:
    if clean_database is None:
        return InProcessConversationStore()
    return SqlConversationStore(clean_database)


@pytest.fixture
def make_user(user_repository: UserRepository) -> MakeUser:
    """Store a user (the SQL tables' foreign keys need real owners)."""

    async def make(username: str) -> User:
        user = User(
            username=username,
            email=f"{username}@example.com",
            password_hash="not-a-real-hash",
            created_at=at(0),
            updated_at=at(0),
        )
        await user_repository.add(user)
        return user

    return make


@pytest.fixture
def memory_repository(clean_database: Database | None) -> MemoryRepository:
    if clean_database is None:
        return InProcessMemoryRepository()
    return SqlMemoryRepository(clean_database)


@pytest.fixture
def tool_state_store(clean_database: Database | None) -> ToolStateStore:
    if clean_database is None:
        return InProcessToolStateStore()
    return SqlToolStateStore(clean_database)


@pytest.fixture
def approval_store(clean_database: Database | None) -> ApprovalStore:
    if clean_database is None:
        return InProcessApprovalStore()
    return SqlApprovalStore(clean_database)


@pytest.fixture
def pipeline_run_store(clean_database: Database | None) -> PipelineRunStore:
    if clean_database is None:
        return InProcessPipelineRunStore()
    return SqlPipelineRunStore(clean_database)


@pytest.fixture
def eval_run_store(clean_database: Database | None) -> EvalRunStore:
    if clean_database is None:
        return InProcessEvalRunStore()
    return SqlEvalRunStore(clean_database)


# --- Redis -------------------------------------------------------------------------------

#: Nothing listens on loopback port 1: connections are refused at once.
DOWN_URL = "redis://127.0.0.1:1/0"
FAST = RedisOptions(
    socket_timeout=0.3, socket_connect_timeout=0.3, retries=1, operation_timeout=1.0
)


@pytest.fixture(scope="session")
async def redis_client() -> AsyncIterator[RedisClient]:
    async with RedisClient.from_url(REDIS_URL, RedisOptions(retries=1)) as client:
        yield client


@pytest.fixture
async def namespaced_redis(redis_client: RedisClient) -> AsyncIterator[RedisClient]:
    """A client under a namespace of its own (sharing the session's pool), emptied after."""
    namespace = f"test-{uuid4().hex[:12]}"
    yield RedisClient(redis_client.redis, namespace=namespace)
    keys = [k async for k in redis_client.redis.scan_iter(match=f"{namespace}:*", count=1000)]
    if keys:
        await redis_client.redis.delete(*keys)
