"""ToolRegistry, @tool and the guard decorators, on in-memory ports."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from uuid import uuid4

import pytest
from pydantic_ai import Agent, RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.cache import InProcessCache
from adapters.inprocess.rate_limiter import InProcessRateLimiter
from adapters.inprocess.tool_metrics import RecordingToolMetrics
from adapters.inprocess.tools import InProcessToolStateStore
from application.agents.runner import AgentDeps
from application.tools import tool, with_cache, with_rate_limit, with_retry, with_timeout
from application.tools.builtins import BUILTIN_TOOLS, calculator
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from domain.agents.models import AgentDefinition
from domain.errors import ValidationFailed
from domain.tools.errors import (
    DuplicateTool,
    RetryableToolError,
    ToolDisabled,
    ToolNotFound,
    ToolRateLimited,
    ToolTimeout,
)
from tests.fakes import tool_result
from tests.fakes.clock import FakeClock

CALLER = AgentDeps(user_id=uuid4())  # someone on whose behalf a tool runs


def make_registry(**kw: Any) -> ToolRegistry:
    kw.setdefault("metrics", RecordingToolMetrics())
    return ToolRegistry(InProcessToolStateStore(), **kw)


@tool(name="weather", category="web", version="1.9.0", tags=("demo",))
def weather_old(city: str) -> str:
    """Old weather."""
    return f"old {city}"


@tool(name="weather", category="web", version="1.10.0")
def weather_new(city: str, unit: str = "C") -> str:
    """Weather in a city."""
    return f"new {city} {unit}"


def test_declared_metadata_comes_from_the_signature_and_docstring() -> None:
    registry = make_registry()
    meta = registry.register(weather_new)
    assert (meta.name, meta.version, meta.category) == ("weather", "1.10.0", "web")
    assert meta.description == "Weather in a city."
    assert meta.parameters["required"] == ["city"]
    assert meta.parameters["properties"]["unit"]["default"] == "C"
    assert weather_new("Oslo") == "new Oslo C"  # still a plain callable


def test_versions_side_by_side_latest_by_number_and_pinned() -> None:
    registry = make_registry()
    registry.register(weather_old)
    registry.register(weather_new)
    assert registry.get("weather").version == "1.10.0"  # 10 > 9, not text order
    assert registry.get("weather", "1.9.0").tags == ("demo",)
    with pytest.raises(DuplicateTool):
        registry.register(weather_old)
    with pytest.raises(ToolNotFound):
        registry.get("weather", "3.0.0")
    with pytest.raises(ToolNotFound):
        registry.get("nope")
    assert [m.version for m in registry.all()] == ["1.10.0", "1.9.0"]
    assert list(registry.list_by_category()) == ["web"]


def test_registration_is_thread_safe() -> None:
    registry = make_registry()
    errors: list[Exception] = []

    def register(i: int) -> None:
        try:
            registry.register(weather_new, version=f"2.0.{i % 20}")
        except DuplicateTool as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(registry.all()) == 20 and len(errors) == 40


async def test_switches_persist_and_reach_other_processes_within_the_ttl() -> None:
    store, clock = InProcessToolStateStore(), FakeClock()
    one = ToolRegistry(store, state_ttl=2.0, clock=clock)
    two = ToolRegistry(store, state_ttl=2.0, clock=clock)
    for r in (one, two):
        r.register(weather_new)
    assert (await two.switches()) == {}
    assert (await one.disable("weather")).enabled is False
    assert one.get("weather").enabled is False  # at once on the process that switched it
    assert (await two.switches()) == {}  # the other one's copy is still fresh
    clock.advance(2.5)
    assert (await two.switches()) == {"weather": False}
    assert two.get("weather").enabled is False
    restarted = ToolRegistry(store)
    restarted.register(weather_new)
    await restarted.switches()
    assert restarted.get("weather").enabled is False
    with pytest.raises(ToolNotFound):
        await one.disable("nope")


# --- agents ------------------------------------------------------------------------


def calling(name: str, args: dict[str, Any]) -> FunctionModel:
    """Calls `name` once if offered, then reports the tool result (or the offered tools)."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        result = tool_result(messages)
        if result is not None:
            return ModelResponse(parts=[TextPart(f"result: {result}")])
        offered = sorted(t.name for t in info.function_tools)
        if name in offered:
            return ModelResponse(parts=[ToolCallPart(name, args, "call-1")])
        return ModelResponse(parts=[TextPart(f"offered: {offered}")])

    return FunctionModel(respond)


async def run(registry: ToolRegistry, tools: tuple[str, ...], model: FunctionModel) -> str:
    definition = AgentDefinition(name="tester", tools=tools)
    agent = Agent(model, deps_type=AgentDeps, toolsets=[registry.toolset_for(definition)])
    result = await agent.run("go", deps=AgentDeps(user_id=uuid4()))
    return str(result.output)


async def test_agent_sees_only_allowed_enabled_tools() -> None:
    registry = make_registry()
    for fn in BUILTIN_TOOLS:
        registry.register(fn)
    answer = await run(registry, ("calculator",), calling("current_time", {}))
    assert answer == "offered: ['calculator']"
    assert await run(registry, ("calculator",), calling("calculator", {"expression": "6*7"})) == (
        "result: 42"
    )
    await registry.disable("calculator")
    assert await run(registry, ("calculator", "current_time"), calling("calculator", {})) == (
        "offered: ['current_time']"
    )


async def test_a_tool_switched_off_mid_turn_is_refused() -> None:
    registry = make_registry()
    registry.register(calculator)
    toolset = registry.toolset_for(AgentDefinition(name="tt", tools=("calculator",)))

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if tool_result(messages) is None and len(messages) == 1:
            return ModelResponse(parts=[ToolCallPart("calculator", {"expression": "1+1"}, "c")])
        return ModelResponse(parts=[TextPart("done")])

    real_offered = toolset._offered  # type: ignore[attr-defined]
    calls = 0

    async def flip() -> Any:
        nonlocal calls
        calls += 1
        offered = await real_offered()
        return {} if calls > 1 else offered  # listed, then off when called

    toolset._offered = flip  # type: ignore[attr-defined]
    agent = Agent(FunctionModel(respond), deps_type=AgentDeps, toolsets=[toolset])
    result = await agent.run("go", deps=AgentDeps(user_id=uuid4()))
    returned = [
        p
        for m in result.all_messages()
        for p in m.parts
        if getattr(p, "tool_name", "") == "calculator"
    ]
    assert any("TOOL_DISABLED" in str(getattr(p, "content", "")) for p in returned)
    assert registry.metrics.outcomes("calculator") == ["refused"]  # type: ignore[union-attr]


@tool
def explode(x: int) -> int:
    """Always fails."""
    raise RuntimeError("secret internals")


async def test_a_crashing_tool_becomes_a_result_the_model_sees() -> None:
    registry = make_registry()
    registry.register(explode)
    answer = await run(registry, ("explode",), calling("explode", {"x": 1}))
    assert "TOOL_FAILED" in answer and "secret internals" not in answer
    assert registry.metrics.outcomes("explode") == ["error"]  # type: ignore[union-attr]


@tool
def bad_return(x: int) -> int:
    """Returns the wrong type."""
    return "not a number"  # type: ignore[return-value]


async def test_return_values_are_validated() -> None:
    registry = make_registry()
    registry.register(bad_return)
    answer = await run(registry, ("bad_return",), calling("bad_return", {"x": 1}))
    assert "does not match its declared type" in answer


# --- guards --------------------------------------------------------------------------


async def test_retry_retries_only_retryable_errors() -> None:
    attempts = {"flaky": 0, "buggy": 0}

    @with_retry(attempts=3, backoff=0.001)
    async def flaky() -> str:
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise RetryableToolError("try again")
        return "ok"

    @with_retry(attempts=3, backoff=0.001)
    async def buggy() -> str:
        attempts["buggy"] += 1
        raise KeyError("bug")

    assert await flaky() == "ok" and attempts["flaky"] == 3
    with pytest.raises(KeyError):
        await buggy()
    assert attempts["buggy"] == 1


async def test_timeout_bounds_each_attempt_and_is_retried() -> None:
    attempts = 0

    @with_retry(attempts=2, backoff=0.001)
    @with_timeout(0.05)
    async def slow() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(1)
        return "never"

    with pytest.raises(ToolTimeout):
        await slow()
    assert attempts == 2

    @with_timeout(0.05)
    def blocking() -> str:
        import time

        time.sleep(0.3)
        return "late"

    with pytest.raises(ToolTimeout):
        await blocking()


async def test_cache_hit_skips_the_function_and_scopes_by_user() -> None:
    calls: list[str] = []

    @tool(user_scoped=True)
    @with_cache(ttl=60)
    async def lookup(ctx: RunContext[AgentDeps], term: str) -> dict[str, int]:
        """Look a term up."""
        calls.append(term)
        return {term: len(calls)}

    registry = make_registry(cache=InProcessCache())
    registry.register(lookup)
    alice, bob = AgentDeps(user_id=uuid4()), AgentDeps(user_id=uuid4())
    first = await invoke(registry, "lookup", {"term": "x"}, alice)
    assert await invoke(registry, "lookup", {"term": "x"}, alice) == first == {"x": 1}
    assert await invoke(registry, "lookup", {"term": "x"}, bob) == {"x": 2}  # user-scoped
    assert await invoke(registry, "lookup", {"term": "y"}, alice) == {"y": 3}
    assert calls == ["x", "x", "y"]
    assert registry.metrics.cache_hits == ["lookup"]  # type: ignore[union-attr]


async def test_rate_limit_refuses_over_the_limit_per_user() -> None:
    @tool
    @with_rate_limit(2, 60, scope="user")
    def ping() -> str:
        """Ping."""
        return "pong"

    registry = make_registry(limiter=InProcessRateLimiter())
    registry.register(ping)
    alice, bob = AgentDeps(user_id=uuid4()), AgentDeps(user_id=uuid4())
    results = await asyncio.gather(
        *(invoke(registry, "ping", {}, alice) for _ in range(5)), return_exceptions=True
    )
    assert results.count("pong") == 2
    limited = [r for r in results if isinstance(r, ToolRateLimited)]
    assert len(limited) == 3 and 0 < limited[0].retry_after <= 60
    assert await invoke(registry, "ping", {}, bob) == "pong"
    answer = await run(registry, ("ping",), calling("ping", {}))
    assert answer == "result: pong"
    outcomes = registry.metrics.outcomes("ping")  # type: ignore[union-attr]
    assert outcomes.count("rate_limited") == 3


async def test_rate_limited_call_tells_the_model() -> None:
    @tool
    @with_rate_limit(1, 60, scope="global")
    def once() -> str:
        """Once a minute."""
        return "ok"

    registry = make_registry(limiter=InProcessRateLimiter())
    registry.register(once)
    assert await run(registry, ("once",), calling("once", {})) == "result: ok"
    assert "RATE_LIMITED" in await run(registry, ("once",), calling("once", {}))


async def test_invoke_validates_arguments_and_respects_switches() -> None:
    registry = make_registry()
    registry.register(calculator)
    assert await invoke(registry, "calculator", {"expression": "2**10"}, CALLER) == 1024
    with pytest.raises(ValidationFailed):
        await invoke(registry, "calculator", {"expr": 1}, CALLER)
    await registry.disable("calculator")
    with pytest.raises(ToolDisabled):
        await invoke(registry, "calculator", {"expression": "1"}, CALLER)
