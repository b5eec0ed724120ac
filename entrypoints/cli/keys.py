"""`mai keys …`: a user's personal API keys from the command line (the local operator acts
for the user named by `--user`, as `mai pipelines` does). `create` prints the key once, on
stdout alone, so `KEY=$(mai keys create --user ada --name laptop)` captures just the key.
Commands run through the CLI runtime (`entrypoints.cli.runtime`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from domain.errors import ValidationFailed
from entrypoints.cli.runtime import owner_id, run_with_container

if TYPE_CHECKING:
    from application.api_keys import NewApiKey
    from container import Container
    from domain.identity.api_keys import ApiKey

keys_app = typer.Typer(help="Personal API keys: create, list, revoke.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)
UserOption = Annotated[str, typer.Option("--user", "-u", help="The user who owns the keys.")]


def _when(value: Any) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


@keys_app.command("create")
def create(
    user: UserOption,
    name: Annotated[str, typer.Option("--name", "-n", help="What the key is for.")],
    expires_in_days: Annotated[
        int | None, typer.Option("--expires-in-days", help="Omit for a key that does not expire.")
    ] = None,
) -> None:
    """Make a key and print it (shown once: store it now)."""

    async def work(container: Container) -> NewApiKey:
        made: NewApiKey = await container.create_api_key().execute(
            await owner_id(container, user), name, expires_in_days
        )
        return made

    made = run_with_container(work)
    expires = _when(made.key.expires_at) or "never"
    err.print(f"created key {made.key.name!r} ({made.key.id}), expires {expires}", highlight=False)
    err.print("[yellow]the key is shown once:[/]")
    print(made.secret)


@keys_app.command("list")
def list_keys(user: UserOption) -> None:
    """The user's keys: id, name, prefix, created, expires, last used (never the key)."""

    async def work(container: Container) -> list[ApiKey]:
        keys: list[ApiKey] = await container.list_api_keys().execute(
            await owner_id(container, user)
        )
        return keys

    table = Table("id", "name", "prefix", "created", "expires", "last used")
    for k in run_with_container(work):
        table.add_row(
            str(k.id),
            k.name,
            k.prefix + "…",
            _when(k.created_at),
            _when(k.expires_at) or "never",
            _when(k.last_used_at) or "never",
        )
    out.print(table)


@keys_app.command("revoke")
def revoke(user: UserOption, key_id: Annotated[str, typer.Argument(help="The key's id.")]) -> None:
    """Revoke a key: it stops working at once, on every server process."""

    async def work(container: Container) -> None:
        try:
            parsed = UUID(key_id)
        except ValueError:
            raise ValidationFailed(f"Not a key id: {key_id!r}.", details={"field": "id"}) from None
        await container.revoke_api_key().execute(await owner_id(container, user), parsed)

    run_with_container(work)
    out.print(f"revoked {key_id}", highlight=False)
