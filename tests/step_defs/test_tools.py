"""Steps for features/tools: the banker agent (tests/fixtures/tool_agents) with the demo
tools (tests/fixtures/demo_tools) over the REST API, on fakes and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, scenarios, then, when

from adapters.inprocess.models import StaticModelSource
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


@dataclass
class Banker:
    """What the banker answered: the last turn (REST body) and each direct invocation."""

    turn: dict[str, Any] = field(default_factory=dict)
    answers: list[Any] = field(default_factory=list)


@pytest.fixture
def banker() -> Banker:
    return Banker()


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
def ask(world: World, banker: Banker, user: str, message: str) -> None:
    r = world.request("POST", "/api/v1/agents/banker/run", user, json={"message": message})
    assert r.status_code == 200, r.text
    banker.turn = r.json()


@when(parsers.parse('"{user}" invokes "{tool}" with n = {n:d}'))
def invoke(world: World, banker: Banker, user: str, tool: str, n: int) -> None:
    r = world.request("POST", f"/api/v1/tools/{tool}/invoke", user, json={"args": {"n": n}})
    banker.answers.append(r.json().get("result"))


@then(parsers.parse("both answers are {value:d}"))
def both(banker: Banker, value: int) -> None:
    assert banker.answers == [value, value]


@then(parsers.parse('the banker replies "{text}"'))
def replies(banker: Banker, text: str) -> None:
    assert banker.turn["output"] == text


@then(parsers.parse('the banker\'s reply mentions "{text}"'))
def mentions(banker: Banker, text: str) -> None:
    assert text in banker.turn["output"]


@then(parsers.parse('the tool "{name}" ran {count:d} time'))
@then(parsers.parse('the tool "{name}" ran {count:d} times'))
def ran(name: str, count: int) -> None:
    assert demo_tools.CALLS[name] == count


@then(parsers.parse('the turn waits for approval of "{tool}"'))
def waits(banker: Banker, tool: str) -> None:
    pending = banker.turn["pending_approval"]
    assert pending["status"] == "pending" and pending["calls"][0]["name"] == tool
    assert banker.turn["output"] is None


def _decide(world: World, banker: Banker, user: str, body: dict[str, Any]) -> None:
    approval = banker.turn["pending_approval"]["id"]
    r = world.request("POST", f"/api/v1/approvals/{approval}", user, json=body)
    assert r.status_code == 200, r.text
    banker.turn = r.json()


@when(parsers.parse('"{user}" approves the pending call'))
def approve(world: World, banker: Banker, user: str) -> None:
    _decide(world, banker, user, {"approve": True})


@when(parsers.parse('"{user}" rejects the pending call because "{reason}"'))
def reject(world: World, banker: Banker, user: str, reason: str) -> None:
    _decide(world, banker, user, {"approve": False, "reason": reason})
