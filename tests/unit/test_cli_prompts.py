"""`mai prompts list|render` through Typer's CliRunner on the in-memory profile."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner, Result

from entrypoints.cli import main as cli
from entrypoints.cli.prompts import parse_vars
from tests.prompt_fakes import PROMPT_FIXTURES

pytestmark = pytest.mark.usefixtures("cli_memory_profile")


@pytest.fixture(autouse=True)
def prompt_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTS__DIR", str(PROMPT_FIXTURES))


def mai(*args: str) -> Result:
    return CliRunner().invoke(cli.app, list(args))


def test_list_shows_a_table() -> None:
    result = mai("prompts", "list")
    assert result.exit_code == 0, result.output
    assert "greeting" in result.output and "1.10.0" in result.output and "report" in result.output


def test_render_with_vars_parsed_as_json_when_they_parse() -> None:
    result = mai("prompts", "render", "greeting", "--var", "user=ada", "--var", "times=2")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Hello ada.Hello ada.\n")
    pinned = mai("prompts", "render", "greeting", "--var", "user={{ 7*7 }}", "--version", "1.0.0")
    assert pinned.stdout.startswith("Hello {{ 7*7 }}\n")


def test_parse_vars() -> None:
    assert parse_vars(["a=1", "b=text", 'c="1"', "d=[1, 2]", "e=", "f=x=y"]) == {
        "a": 1,
        "b": "text",
        "c": "1",
        "d": [1, 2],
        "e": "",
        "f": "x=y",
    }


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["nope"], 4, "[PROMPT_NOT_FOUND]"),
        (["greeting", "--var", "user=ada", "--version", "9.9.9"], 4, "[PROMPT_NOT_FOUND]"),
        (["greeting", "--var", "times=x"], 2, "[PROMPT_INVALID_VARIABLES]"),
        (["greeting", "--var", "novalue"], 2, "[VALIDATION_FAILED]"),
        (["escape-mro"], 2, "[PROMPT_RENDER_FAILED]"),
    ],
)
def test_errors_are_one_line_and_exit_non_zero(args: list[str], code: int, says: str) -> None:
    result = mai("prompts", "render", *args)
    assert result.exit_code == code, result.output
    assert says in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
