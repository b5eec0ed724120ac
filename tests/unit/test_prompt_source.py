"""Prompt files: the YAML format (one or several versions per file) and start-up failures
that name the file and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.prompts import YamlPromptSource
from application.prompts import PromptManager
from domain.errors import ConfigurationError
from tests.prompt_fakes import PROMPT_FIXTURES


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load(root: Path) -> PromptManager:
    return PromptManager(YamlPromptSource(root))


def test_fixture_files_load_with_groups_and_merged_versions() -> None:
    manager = load(PROMPT_FIXTURES)
    greeting = manager.get("greeting", "1.10.0")
    assert greeting.group == "demo" and greeting.tags == ("demo",)
    assert set(greeting.variables) == {"user", "times", "excited"}  # merged with the shared
    assert set(manager.get("greeting", "1.0.0").variables) == {"user"}
    assert manager.get("report").model_settings.temperature == 0.2


def test_the_shipped_prompts_load() -> None:
    names = {s.name for s in load(Path("config/prompts")).all()}
    assert {"system", "assistant", "timekeeper", "companion"} <= names


def test_the_file_name_is_the_default_name(tmp_path: Path) -> None:
    write(tmp_path, "g/hello.yaml", "version: 1.0.0\ntemplate: hi\n")
    assert load(tmp_path).get("hello").group == "g"


def test_a_missing_directory_has_no_prompts(tmp_path: Path) -> None:
    assert load(tmp_path / "nope").all() == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("name: [unclosed\n", "not readable YAML"),
        ("- a list\n", "expected a mapping"),
        ("version: 1.0\ntemplate: x\n", "invalid prompt field version"),
        ("version: 1.0.0\n", "invalid prompt field template"),
        ("version: 1.0.0\ntemplate: x\nbogus: 1\n", "invalid prompt field bogus"),
        ("versions: []\n", "`versions` must be a non-empty list"),
        ("versions: [hello]\n", "versions.0 must be a mapping"),
        (
            "versions:\n  - {version: 1.0.0, template: a}\n  - {version: 1.0.0, template: b}\n",
            "appears twice",
        ),
        (
            "versions:\n  - {version: 1.0.0, template: a}\n  - {version: 1.1, template: b}\n",
            "invalid prompt field versions.1.version",
        ),
        ("version: 1.0.0\ntemplate: '{% if %}'\n", "template error at line 1"),
        ("version: 1.0.0\ntemplate: '{{ who }}'\n", "undeclared variables ['who']"),
        (
            "version: 1.0.0\ntemplate: x\nvariables: {n: {type: integer, default: x}}\n",
            "variables.n",
        ),
    ],
)
def test_a_broken_file_fails_with_its_path_and_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, "g/broken.yaml", text)
    with pytest.raises(ConfigurationError) as caught:
        load(tmp_path)
    assert str(path) in caught.value.message
    assert problem in caught.value.message
    assert caught.value.details["file"] == str(path)


def test_one_version_in_two_files_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "a/x.yaml", "name: dup\nversion: 1.0.0\ntemplate: a\n")
    write(tmp_path, "b/y.yaml", "name: dup\nversion: 1.0.0\ntemplate: b\n")
    with pytest.raises(ConfigurationError, match="already defined in"):
        load(tmp_path)
