"""Steps for features/tools: the banker agent (tests/fixtures/tool_agents) with the demo
tools (tests/fixtures/demo_tools) over the REST API, on fakes and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.memory.models import StaticModelSource
from tests.api.test_tools_api import BANKER, TOOL_AGENTS
from tests.conftest import PG_URL, make_container, make_settings
from tests.fixtures import demo_tools
from tests.step_defs.conftest import World, _reset_postgres

scenarios("tools/tools.feature")


@pytest.fixture
def world(backend: str, tmp_path: Path) -> Iterator[World]:
    extra: dict[str, Any] = {"database": {"url": PG_URL}} if backend == "postgres" else {}
    settings = make_settings(
        tmp_path,
        agents={"dir": str(TOOL_AGENTS)},
        tools={"modules": ["tests.fixtures.demo_tools"]},
        **extra,
    )
    container = make_container(settings)
    container.model_source.override(providers.Object(StaticModelSource(BANKER)))
    demo_tools.CALLS.update(slow_square=0, transfer=0)
    w = World(container)
    if backend == "postgres":
        w.run(_reset_postgres())
    yield w
    w.stop()


@given("a running MAI service with the demo tools")
def running(world: World) -> None:
    world.start()


@given(parsers.parse('a superuser disabled the tool "{name}"'))
def superuser_disables(world: World, name: str) -> None:
    async def go() -> None:
        await world.container.register_user().execute(
            "root", "root@example.com", "password123", is_superuser=True
        )

    world.run(go())
    r = world.request(
        "POST", "/api/v1/auth/login", json={"username": "root", "password": "password123"}
    )
    world.tokens["root"] = r.json()
    r = world.request("PATCH", f"/api/v1/tools/{name}", "root", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False


@when(parsers.parse('"{user}" asks the banker "{message}"'))
def ask(world: World, user: str, message: str) -> None:
    r = world.request("POST", "/api/v1/agents/banker/run", user, json={"message": message})
    assert r.status_code == 200, r.text
    world.last_turn = r.json()  # type: ignore[attr-defined]


@when(parsers.parse('"{user}" invokes "{tool}" with n = {n:d}'))
def invoke(world: World, user: str, tool: str, n: int) -> None:
    r = world.request("POST", f"/api/v1/tools/{tool}/invoke", user, json={"args": {"n": n}})
    answers: list[Any] = getattr(world, "answers", [])
    answers.append(r.json().get("result"))
    world.answers = answers  # type: ignore[attr-defined]


@then(parsers.parse("both answers are {value:d}"))
def both(world: World, value: int) -> None:
    assert world.answers == [value, value]  # type: ignore[attr-defined]


@then(parsers.parse('the banker replies "{text}"'))
def replies(world: World, text: str) -> None:
    assert world.last_turn["output"] == text  # type: ignore[attr-defined]


@then(parsers.parse('the banker\'s reply mentions "{text}"'))
def mentions(world: World, text: str) -> None:
    assert text in world.last_turn["output"]  # type: ignore[attr-defined]


@then(parsers.parse('the tool "{name}" ran {count:d} time'))
@then(parsers.parse('the tool "{name}" ran {count:d} times'))
def ran(name: str, count: int) -> None:
    assert demo_tools.CALLS[name] == count


@then(parsers.parse('the turn waits for approval of "{tool}"'))
def waits(world: World, tool: str) -> None:
    pending = world.last_turn["pending_approval"]  # type: ignore[attr-defined]
    assert pending["status"] == "pending" and pending["calls"][0]["name"] == tool
    assert world.last_turn["output"] is None  # type: ignore[attr-defined]


def _decide(world: World, user: str, body: dict[str, Any]) -> None:
    approval = world.last_turn["pending_approval"]["id"]  # type: ignore[attr-defined]
    r = world.request("POST", f"/api/v1/approvals/{approval}", user, json=body)
    assert r.status_code == 200, r.text
    world.last_turn = r.json()  # type: ignore[attr-defined]


@when(parsers.parse('"{user}" approves the pending call'))
def approve(world: World, user: str) -> None:
    _decide(world, user, {"approve": True})


@when(parsers.parse('"{user}" rejects the pending call because "{reason}"'))
def reject(world: World, user: str, reason: str) -> None:
    _decide(world, user, {"approve": False, "reason": reason})
