"""Rendering is safe: known sandbox escapes and resource attacks (each a prompt file under
tests/fixtures/prompts/escapes/) fail with PROMPT_RENDER_FAILED, never a crash or a hang;
a user's value is data, printed literally."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.prompts import YamlPromptSource
from application.prompts import PromptManager
from domain.errors import PromptRenderFailed
from entrypoints.rest.errors import http_status
from tests.prompt_fakes import PROMPT_FIXTURES

ESCAPES = sorted(p.stem for p in (PROMPT_FIXTURES / "escapes").glob("*.yaml"))


@pytest.fixture(scope="module")
def manager() -> PromptManager:
    return PromptManager(YamlPromptSource(PROMPT_FIXTURES), max_output_chars=100_000)


def test_every_escape_fixture_is_covered() -> None:
    assert len(ESCAPES) >= 14


@pytest.mark.parametrize("name", ESCAPES)
async def test_an_escape_fails_cleanly(manager: PromptManager, name: str) -> None:
    with pytest.raises(PromptRenderFailed) as caught:
        await manager.render(name, {})
    err = caught.value
    assert err.code == "PROMPT_RENDER_FAILED" and http_status(err) == 422
    assert err.details["prompt"] == name and err.details["reason"]
    assert "object at 0x" not in err.message  # nothing leaked from inside the process


@pytest.mark.parametrize(
    ("name", "reason", "says"),
    [
        ("escape-mro", "SecurityError", "unsafe"),
        ("escape-attr-format", "SecurityError", "unsafe"),
        ("escape-str-format", "SecurityError", "unsafe"),
        ("escape-globals", "SecurityError", "unsafe"),
        ("escape-range", "LimitExceeded", "over the limit"),
        ("escape-multiply", "LimitExceeded", "1,000,000,000 characters"),
        ("escape-nested-loops", "LimitExceeded", "loops too many times"),
        ("escape-output", "LimitExceeded", "the rendered prompt would be"),
        ("escape-recursion", "RecursionError", "recursion"),
    ],
)
async def test_the_error_says_what_was_refused(
    manager: PromptManager, name: str, reason: str, says: str
) -> None:
    with pytest.raises(PromptRenderFailed) as caught:
        await manager.render(name, {})
    assert caught.value.details["reason"] == reason
    assert says in caught.value.message


@pytest.mark.parametrize(
    "value",
    ["{{ 7*7 }}", "{% for i in range(10**9) %}x{% endfor %}", "{{ ''.__class__.__mro__ }}", "{#"],
)
async def test_a_value_is_rendered_literally(manager: PromptManager, value: str) -> None:
    rendered = await manager.render("greeting", {"user": value}, "1.0.0")
    assert rendered.text == f"Hello {value}"


async def test_ordinary_templates_still_work(manager: PromptManager) -> None:
    text = (
        await manager.render(
            "report",
            {
                "title": "Q3",
                "count": 3,
                "ratio": 0.75,
                "urgent": True,
                "items": ["a", "b"],
                "meta": {"z": 1, "a": 2},
            },
        )
    ).text
    assert text == "Q3: 3 at 0.75 URGENT\n- a\n- b\na=2;z=1;"
    counted = await manager.render("greeting", {"user": "ada", "times": 2, "excited": True})
    assert counted.text == "Hello ada!Hello ada!"


async def test_the_output_cap_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "pp.yaml").write_text(
        "version: 1.0.0\nvariables: {s: {type: string}}\ntemplate: '[{{ s }}]'\n"
    )
    manager = PromptManager(YamlPromptSource(tmp_path), max_output_chars=200)
    assert (await manager.render("pp", {"s": "x" * 150})).text == "[" + "x" * 150 + "]"
    with pytest.raises(PromptRenderFailed, match="limit is 200"):
        await manager.render("pp", {"s": "x" * 250})
