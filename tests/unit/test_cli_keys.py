"""`mai keys …`, `mai users create` asking for the password, `mai --version` and shell
completion, through Typer's CliRunner on a SQLite file that outlives each invocation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.sql.migrate import upgrade
from container import Container
from domain.identity.api_keys import hash_api_key
from entrypoints.cli import main as cli
from entrypoints.cli import runtime as cli_runtime
from tests.conftest import make_container, make_settings


@pytest.fixture(autouse=True)
def container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Container:
    settings = make_settings(tmp_path, database={"url": f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"})
    asyncio.run(upgrade(settings.database.url))
    monkeypatch.setattr(cli_runtime, "build_container", lambda: make_container(settings))
    return make_container(settings)


def mai(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli.app, list(args), input=stdin, env={"COLUMNS": "200"})


def test_users_create_asks_for_the_password_hidden_twice() -> None:
    done = mai(
        "users", "create", "ada", "--email", "ada@example.com", stdin="secret-123\nsecret-123\n"
    )
    assert done.exit_code == 0, done.output
    assert "created user ada" in done.output
    assert "secret-123" not in done.output  # hidden input: never echoed

    mismatch = mai(
        "users", "create", "bob", "--email", "b@example.com", stdin="abc-12345\nxyz-12345\n"
    )
    assert mismatch.exit_code != 0 and "created" not in mismatch.output


def test_keys_create_list_revoke(container: Container) -> None:
    assert (
        mai(
            "users", "create", "ada", "--email", "a@example.com", "--password", "pass-1234"
        ).exit_code
        == 0
    )
    made = mai("keys", "create", "--user", "ada", "--name", "laptop", "--expires-in-days", "7")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("mai_")

    async def stored() -> object:
        from runtime import AppRuntime

        await AppRuntime(container, memory=False).open()
        return await container.api_key_store().get_by_hash(hash_api_key(key))

    found = asyncio.run(stored())
    assert found is not None

    listed = mai("keys", "list", "--user", "ada")
    assert listed.exit_code == 0 and "laptop" in listed.output and key[:12] in listed.output
    assert key not in listed.output

    key_id = str(found.id)  # type: ignore[attr-defined]
    assert mai("keys", "revoke", "--user", "ada", key_id).exit_code == 0
    assert "laptop" not in mai("keys", "list", "--user", "ada").output
    again = mai("keys", "revoke", "--user", "ada", key_id)
    assert again.exit_code == 4 and "NOT_FOUND" in again.output
    assert mai("keys", "revoke", "--user", "ada", "not-an-id").exit_code == 2
    assert mai("keys", "list", "--user", "nobody").exit_code == 4


def test_version_and_completion() -> None:
    done = mai("--version")
    assert done.exit_code == 0 and done.output.startswith("mai ")
    assert "--install-completion" in mai("--help").output
