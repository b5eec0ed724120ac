"""`mai tools …`, `mai pipelines …` and `mai worker` through Typer's CliRunner, on a SQLite
file that outlives each invocation (as a real deployment's database would)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from adapters.sql.migrate import upgrade
from container import Container
from entrypoints.cli import main as cli
from entrypoints.cli import runtime as cli_runtime
from tests.conftest import make_container, make_settings

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(autouse=True)
def sqlite_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(
        tmp_path,
        database={"url": f"sqlite+aiosqlite:///{tmp_path / 'mai.db'}"},
        agents={"dir": str(FIXTURES / "tool_agents")},
        tools={"modules": ["tests.fixtures.demo_tools"]},
        pipelines={"dir": str(FIXTURES / "pipelines")},
    )

    def build() -> Container:
        return make_container(settings)

    monkeypatch.setattr(cli_runtime, "build_container", build)
    asyncio.run(upgrade(settings.database.url))


def mai(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def test_tools_list_enable_disable_persist() -> None:
    listed = mai("tools", "list")
    assert listed.exit_code == 0
    row = next(line for line in listed.stdout.splitlines() if "calculator" in line)
    assert "│ yes " in row
    assert "calculator" in listed.stdout and "transfer" in listed.stdout
    assert "required" in listed.stdout  # transfer needs approval
    off = mai("tools", "disable", "calculator")
    assert off.exit_code == 0 and "calculator is now disabled" in off.stdout
    # A new invocation (a new process's view) reads the switch from the database.
    row = next(line for line in mai("tools", "list").stdout.splitlines() if "calculator" in line)
    assert "│ no " in row
    assert "enabled" in mai("tools", "enable", "calculator").stdout
    unknown = mai("tools", "disable", "nope")
    assert unknown.exit_code != 0 and "TOOL_NOT_FOUND" in unknown.stderr


def test_pipelines_list_run_and_show() -> None:
    assert (
        mai(
            "users", "create", "ada", "--email", "a@example.com", "--password", "password123"
        ).exit_code
        == 0
    )
    listed = mai("pipelines", "list")
    assert listed.exit_code == 0 and "shout" in listed.stdout and "fan-out-fan-in" in listed.stdout
    ran = mai("pipelines", "run", "shout", "--user", "ada", "--input", "hello")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert '"HELLO!"' in ran.stdout and "succeeded" in ran.stdout
    counted = mai(
        "pipelines", "run", "fan-out-fan-in", "--user", "ada", "--input", json.dumps(["a b", "c"])
    )
    assert counted.exit_code == 0 and '"words": 3' in counted.stdout
    bad = mai("pipelines", "run", "shout", "--user", "nobody", "--input", "x")
    assert bad.exit_code != 0 and "NOT_FOUND" in bad.stderr
    assert mai("pipelines", "show", "not-a-uuid", "--user", "ada").exit_code != 0


def test_worker_reconciles_until_sigterm() -> None:
    timer = threading.Timer(3.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        result = mai("worker")
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.stderr
    assert "reconciling the memory index" in result.stderr
