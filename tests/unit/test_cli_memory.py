"""`mai memory …` through Typer's CliRunner on the memory profile.

What a database would keep between invocations (users, memories, the vector index) lives
in a `World` that every container the CLI builds shares, through the `build_container`
seam; the vector index and the embedder are the shared test fakes.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from dependency_injector import providers
from typer.testing import CliRunner, Result

from adapters.inprocess.identity import InProcessUserRepository
from adapters.inprocess.memories import InProcessMemoryRepository
from application.memory import NewMemory
from container import Container
from domain.memory.long_term import IndexState, Memory, MemoryKind
from entrypoints.cli import main as cli
from entrypoints.cli import runtime as cli_runtime
from tests.fakes import FlakyIndex, HashEmbedder

pytestmark = pytest.mark.usefixtures("cli_memory_profile")


class World:
    """The state that outlives one `mai` invocation, shared by every container built."""

    def __init__(self) -> None:
        self.users = InProcessUserRepository()
        self.memories = InProcessMemoryRepository()
        self.index = FlakyIndex()
        self.embedder = HashEmbedder()

    def container(self) -> Container:
        container = Container()
        container.users.override(providers.Object(self.users))
        container.memory_repository.override(providers.Object(self.memories))
        container.memory_index.override(providers.Object(self.index))
        container.embedder.override(providers.Object(self.embedder))
        return container

    def add_user(self, username: str) -> UUID:
        async def work() -> UUID:
            user = (
                await self.container()
                .register_user()
                .execute(username, f"{username}@example.com", "password123")
            )
            return user.id

        return asyncio.run(work())

    def remember(self, user_id: UUID, *contents: str, kind: MemoryKind = MemoryKind.FACT) -> None:
        memory = self.container().long_term_memory()
        items = [NewMemory(c, kind=kind) for c in contents]
        asyncio.run(memory.store_many(user_id, items))

    def remember_long_ago(self, user_id: UUID, content: str, importance: float, days: int) -> None:
        at = datetime.now(UTC) - timedelta(days=days)
        old = Memory(user_id, content, importance=importance, created_at=at, updated_at=at)
        asyncio.run(self.memories.add_many([old]))

    def contents(self, user_id: UUID) -> set[str]:
        return {m.content for m in self.memories.rows.values() if m.user_id == user_id}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    world = World()
    monkeypatch.setattr(cli_runtime, "build_container", world.container)
    return world


def mai(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def one_error_line(result: Result, code: str) -> None:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}]"), result.output
    assert "Traceback" not in result.output


def test_reindex_rebuilds_the_index_with_progress(world: World) -> None:
    ada, bob = world.add_user("ada"), world.add_user("bob")
    world.index.down = True  # stored, never indexed: the index is empty
    world.remember(ada, *(f"ada fact {i}" for i in range(5)))
    world.remember(bob, "bob fact")
    world.index.down = False
    assert world.index.points == {}

    result = mai("memory", "reindex")
    assert result.exit_code == 0, result.output
    assert result.stdout == "reindexed 6 memories into the flaky index\n"
    assert re.search(r"indexing.*6/6", result.stderr)  # the progress display, at its end
    assert len(world.index.points) == 6
    assert all(m.index_state is IndexState.INDEXED for m in world.memories.rows.values())


def test_reindex_one_user_and_reembed(world: World) -> None:
    ada, bob = world.add_user("ada"), world.add_user("bob")
    world.remember(ada, "ada one", "ada two")
    world.remember(bob, "bob one")
    world.index.points.clear()
    calls = world.embedder.calls

    result = mai("memory", "reindex", "--user", "ada")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("reindexed 2 memories")
    assert {p.user_id for p in world.index.points.values()} == {ada}
    assert world.embedder.calls == calls  # the stored embeddings were reused

    result = mai("memory", "reindex", "-u", "ada", "--reembed")
    assert result.exit_code == 0, result.output
    assert world.embedder.calls == calls + 1


def test_reindex_with_the_index_down_is_one_line(world: World) -> None:
    world.remember(world.add_user("ada"), "something")
    world.index.down = True
    result = mai("memory", "reindex")
    assert result.exit_code == 69
    one_error_line(result, "SERVICE_UNAVAILABLE")


def test_reconcile_catches_up_once(world: World) -> None:
    ada = world.add_user("ada")
    world.remember(ada, "kept")
    world.index.down = True
    world.remember(ada, "pending one", "pending two")
    (kept,) = [m for m in world.memories.rows.values() if m.content == "kept"]
    asyncio.run(world.container().long_term_memory().forget(ada, kept.id))  # index still has it
    world.index.down = False

    result = mai("memory", "reconcile")
    assert result.exit_code == 0, result.output
    assert result.stdout == "indexed 2, removed 1\n"
    assert {p.id for p in world.index.points.values()} == {
        m.id for m in world.memories.rows.values()
    }
    assert mai("memory", "reconcile").stdout == "indexed 0, removed 0\n"


def test_cleanup_forgets_old_unimportant_memories(world: World) -> None:
    ada, bob = world.add_user("ada"), world.add_user("bob")
    world.remember_long_ago(ada, "old and trivial", importance=0.1, days=100)
    world.remember_long_ago(ada, "old but important", importance=0.9, days=100)
    world.remember_long_ago(ada, "recent and trivial", importance=0.1, days=5)
    world.remember_long_ago(bob, "bob's old and trivial", importance=0.1, days=100)

    result = mai(
        "memory", "cleanup", "--max-age-days", "30", "--min-importance", "0.5", "-u", "ada"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ("forgot 1 memory older than 30 days with importance below 0.5\n")
    assert world.contents(ada) == {"old but important", "recent and trivial"}
    assert world.contents(bob) == {"bob's old and trivial"}

    result = mai("memory", "cleanup", "--max-age-days", "30", "--min-importance", "0.5")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("forgot 1 memory")  # everyone's: bob's this time
    assert world.contents(bob) == set()


@pytest.mark.parametrize(
    "args",
    [
        ["--max-age-days", "-1", "--min-importance", "0.5"],
        ["--max-age-days", "30", "--min-importance", "1.5"],
        ["--max-age-days", "30"],
    ],
)
def test_cleanup_refuses_bad_options(world: World, args: list[str]) -> None:
    world.remember_long_ago(world.add_user("ada"), "old", importance=0.1, days=100)
    result = mai("memory", "cleanup", *args)
    assert result.exit_code == 2
    assert len(world.memories.rows) == 1


def test_stats_is_a_small_table(world: World) -> None:
    ada, bob = world.add_user("ada"), world.add_user("bob")
    world.remember(ada, "a fact", "another fact")
    world.remember(ada, "I like tea", kind=MemoryKind.PREFERENCE)
    world.index.down = True
    world.remember(bob, "bob's fact")

    result = mai("memory", "stats", "--user", "ada")
    assert result.exit_code == 0, result.output
    rows = dict(re.findall(r"│ ([a-z ]+?)\s+│\s+(\d+) │", result.stdout))
    assert rows == {
        "total": "3",
        "kind fact": "2",
        "kind preference": "1",
        "index indexed": "3",
    }

    rows = dict(re.findall(r"│ ([a-z ]+?)\s+│\s+(\d+) │", mai("memory", "stats").stdout))
    assert rows["total"] == "4" and rows["index pending"] == "1"


@pytest.mark.parametrize(
    "args",
    [
        ["reindex", "--user", "ghost"],
        ["stats", "--user", "ghost"],
        ["cleanup", "--max-age-days", "1", "--min-importance", "0.5", "--user", "ghost"],
    ],
)
def test_an_unknown_user_is_not_found(world: World, args: list[str]) -> None:
    world.add_user("ada")
    result = mai("memory", *args)
    assert result.exit_code == 4, result.output
    one_error_line(result, "NOT_FOUND")
    assert "ghost" in result.stderr


def test_a_malformed_username_is_a_validation_error(world: World) -> None:
    result = mai("memory", "stats", "--user", "no spaces!")
    assert result.exit_code == 2
    one_error_line(result, "VALIDATION_FAILED")


def test_memory_help_lists_the_commands() -> None:
    result = mai("memory", "--help")
    assert result.exit_code == 0
    for command in ("reindex", "reconcile", "cleanup", "stats"):
        assert command in result.stdout


def test_reindex_after_a_model_change_reembeds_only_what_the_old_model_made(
    world: World,
) -> None:
    ada = world.add_user("ada")
    world.remember(ada, "ada one", "ada two", "ada three")
    world.embedder.model_name = "hash-bow-v2"  # LM_STUDIO__EMBEDDING_MODEL changed
    result = mai("memory", "reindex")
    assert result.exit_code == 0, result.output
    assert re.search(r"re-embedding.*3", result.stderr)
    assert {m.embedding_model for m in world.memories.rows.values()} == {"hash-bow-v2"}
    calls = world.embedder.calls
    assert mai("memory", "reindex").exit_code == 0
    assert world.embedder.calls == calls  # nothing left to re-embed


def test_show_and_edit_one_memory_with_its_provenance(world: World) -> None:
    ada, bob = world.add_user("ada"), world.add_user("bob")
    world.remember(ada, "lives in Porto")
    (memory_id,) = [str(m.id) for m in world.memories.rows.values()]

    shown = mai("memory", "show", memory_id, "--user", "ada")
    assert shown.exit_code == 0, shown.output
    assert "lives in Porto" in shown.stdout and "hash-bow" in shown.stdout
    assert re.search(r"source\W+user", shown.stdout)

    edited = mai("memory", "edit", memory_id, "-u", "ada", "--content", "lives in Lisbon")
    assert edited.exit_code == 0, edited.output
    assert world.contents(ada) == {"lives in Lisbon"}

    one_error_line(mai("memory", "show", memory_id, "--user", "bob"), "NOT_FOUND")
    assert world.contents(bob) == set()
    one_error_line(
        mai("memory", "edit", memory_id, "-u", "ada", "--content", " "), "VALIDATION_FAILED"
    )
    one_error_line(
        mai("memory", "edit", memory_id, "-u", "ada", "--metadata", "[1]"), "VALIDATION_FAILED"
    )
    one_error_line(mai("memory", "show", "not-an-id", "--user", "ada"), "VALIDATION_FAILED")
