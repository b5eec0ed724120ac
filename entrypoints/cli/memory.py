"""`mai memory …`: upkeep of long-term memory. The database is the truth; the vector index
can be rebuilt from it (`reindex`) or brought up to date with it (`reconcile`); `cleanup`
forgets what is old and unimportant; `stats` counts; `show` and `edit` inspect and correct
one memory of a user (with its provenance). Commands run through the CLI runtime
(`entrypoints.cli.runtime`), with the memory index and embedder open.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from domain.errors import ValidationFailed
from domain.memory.long_term import Memory
from entrypoints.cli.runtime import owner_id, run_with_container, user_id_of

if TYPE_CHECKING:
    from container import Container


memory_app = typer.Typer(
    help="Long-term memory: rebuild or reconcile the vector index, clean up, count.",
    no_args_is_help=True,
)
out = Console()
err = Console(stderr=True)

UserOption = Annotated[
    str | None,
    typer.Option("--user", "-u", help="Only this user's memories (default: everyone's)."),
]


def _memories(n: int) -> str:
    return f"{n} {'memory' if n == 1 else 'memories'}"


@memory_app.command("reindex")
def reindex(
    user: UserOption = None,
    reembed: Annotated[
        bool,
        typer.Option("--reembed", help="Embed every memory again, whichever model embedded it."),
    ] = False,
) -> None:
    """Re-embed the memories another model embedded (resumable: run it again after a stop
    and it continues), then rebuild the vector index from the database, showing progress.
    Search keeps working meanwhile (lexically for memories not yet re-embedded)."""

    async def work(container: Container) -> tuple[int, str]:
        user_id = await user_id_of(container, user)
        expected = int((await container.memory_repository().stats(user_id)).get("total", 0))
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err) as progress:
            tasks = {
                "embedding": progress.add_task("re-embedding", total=None),
                "indexing": progress.add_task("indexing", total=expected),
            }

            def advance(phase: str, done: int) -> None:
                task = tasks[phase]
                total = None if phase == "embedding" else max(expected, done)
                progress.update(task, completed=done, total=total)

            try:
                total: int = await container.reindex_memories().execute(
                    user_id, reembed=reembed, progress=advance
                )
            except BaseException:
                for task in tasks.values():
                    progress.update(task, visible=False)  # the error is then the one line shown
                raise
            progress.update(tasks["embedding"], total=progress.tasks[0].completed)
            progress.update(tasks["indexing"], completed=total, total=total)
        return total, str(container.memory_index().name)

    total, index = run_with_container(work, memory=True)
    out.print(f"reindexed {_memories(total)} into the {index} index", highlight=False)


@memory_app.command("reconcile")
def reconcile() -> None:
    """Bring the vector index up to date once: index pending memories, remove deleted ones."""

    async def work(container: Container) -> dict[str, int]:
        done: dict[str, int] = await container.reconcile_index().execute()
        return done

    done = run_with_container(work, memory=True)
    out.print(f"indexed {done['indexed']}, removed {done['removed']}", highlight=False)


@memory_app.command("cleanup")
def cleanup(
    max_age_days: Annotated[
        float, typer.Option("--max-age-days", min=0, help="Only memories older than this.")
    ],
    min_importance: Annotated[
        float,
        typer.Option(
            "--min-importance",
            min=0.0,
            max=1.0,
            help="Keep memories at least this important (0..1); forget the rest.",
        ),
    ],
    user: UserOption = None,
) -> None:
    """Forget memories older than --max-age-days whose importance is below --min-importance."""

    async def work(container: Container) -> int:
        user_id = await user_id_of(container, user)
        forgotten: int = await container.long_term_memory().cleanup_old_memories(
            user_id, timedelta(days=max_age_days), min_importance
        )
        return forgotten

    forgotten = run_with_container(work, memory=True)
    out.print(
        f"forgot {_memories(forgotten)} older than {max_age_days:g} days "
        f"with importance below {min_importance:g}",
        highlight=False,
    )


@memory_app.command("stats")
def stats(user: UserOption = None) -> None:
    """Count memories: in all, by kind, and by index state (pending/indexed/deleting)."""

    async def work(container: Container) -> dict[str, int]:
        counts: dict[str, int] = await container.memory_repository().stats(
            await user_id_of(container, user)
        )
        return counts

    counts = run_with_container(work, memory=True)
    table = Table("", "count", title=f"memories of {user}" if user else "memories")
    table.columns[1].justify = "right"
    table.add_row("total", str(counts.get("total", 0)))
    for prefix, label in (("kind:", "kind"), ("state:", "index")):
        for key in sorted(k for k in counts if k.startswith(prefix)):
            table.add_row(f"{label} {key.removeprefix(prefix)}", str(counts[key]))
    out.print(table)


MemoryId = Annotated[str, typer.Argument(help="The memory's id.")]
OwnerOption = Annotated[str, typer.Option("--user", "-u", help="The user who owns it.")]


def _parse_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed("Not a memory id.", details={"field": "id"}) from None


def _print_memory(memory: Memory) -> None:
    table = Table(show_header=False, title=f"memory {memory.id}")
    rows = {
        "content": memory.content,
        "kind": memory.kind.value,
        "importance": f"{memory.importance:g}",
        "metadata": json.dumps(memory.metadata, ensure_ascii=False),
        "source": memory.source.value,
        "conversation": str(memory.source_conversation_id or "—"),
        "message": str(memory.source_message_id or "—"),
        "embedding model": memory.embedding_model or "— (not embedded yet)",
        "index": memory.index_state.value,
        "created": memory.created_at.isoformat(),
        "updated": memory.updated_at.isoformat(),
        "accessed": f"{memory.access_count} times",
    }
    for key, value in rows.items():
        table.add_row(key, value)
    out.print(table)


@memory_app.command("show")
def show(memory_id: MemoryId, user: OwnerOption) -> None:
    """Show one of a user's memories with its provenance."""

    async def work(container: Container) -> Memory:
        owner = await owner_id(container, user)
        found: Memory = await container.long_term_memory().get(owner, _parse_id(memory_id))
        return found

    _print_memory(run_with_container(work, memory=True))


@memory_app.command("edit")
def edit(
    memory_id: MemoryId,
    user: OwnerOption,
    content: Annotated[str | None, typer.Option("--content", help="The corrected text.")] = None,
    metadata: Annotated[
        str | None, typer.Option("--metadata", help="A JSON object replacing its metadata.")
    ] = None,
    importance: Annotated[
        float | None, typer.Option("--importance", min=0.0, max=1.0, help="0..1.")
    ] = None,
) -> None:
    """Correct one of a user's memories; it is re-embedded and re-indexed before this ends."""

    def parsed_metadata() -> dict[str, Any] | None:
        if metadata is None:
            return None
        try:
            value = json.loads(metadata)
        except json.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            raise ValidationFailed(
                "--metadata is not a JSON object.", details={"field": "metadata"}
            )
        return value

    async def work(container: Container) -> Memory:
        from application.memory import MemoryEdit

        owner = await owner_id(container, user)
        change = MemoryEdit(content=content, metadata=parsed_metadata(), importance=importance)
        updated: Memory = await container.long_term_memory().update(
            owner, _parse_id(memory_id), change
        )
        return updated

    _print_memory(run_with_container(work, memory=True))
