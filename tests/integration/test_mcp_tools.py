"""MCP tools end to end: a real stdio MCP server (tests/fixtures/mcp/tiny_server.py, run as
a subprocess) whose tools join the registry and are called by an agent through it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.tool_metrics import RecordingToolMetrics
from adapters.inprocess.tools import InProcessToolStateStore
from adapters.mcp.servers import open_mcp_servers
from adapters.settings import MCPServerConfig
from application.agents.runner import AgentDeps
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from domain.agents.models import AgentDefinition
from domain.errors import ConfigurationError
from runtime import AppRuntime
from tests.conftest import make_container, make_settings

pytestmark = pytest.mark.integration
CALLER = AgentDeps(user_id=uuid4())  # someone on whose behalf a tool runs

TINY_SERVER = Path(__file__).resolve().parents[1] / "fixtures" / "mcp" / "tiny_server.py"


def tiny(**overrides: Any) -> MCPServerConfig:
    fields: dict[str, Any] = {
        "name": "tiny",
        "command": sys.executable,
        "args": [str(TINY_SERVER)],
        "requires_approval": ["add"],
        "timeout": 20.0,
    }
    return MCPServerConfig(**(fields | overrides))


@pytest.fixture(scope="module")
async def registry() -> AsyncIterator[ToolRegistry]:
    """One server for the module (a subprocess start costs about a second); each test
    gets the same registry, with fresh metrics and every switch back on."""
    async with AsyncExitStack() as stack:
        opened = await open_mcp_servers([tiny()], stack)
        registry = ToolRegistry(InProcessToolStateStore(), state_ttl=0)
        for toolset, metas in opened:
            registry.register_toolset(toolset, metas)
        yield registry


@pytest.fixture(autouse=True)
async def _reset(registry: ToolRegistry) -> None:
    registry.metrics = RecordingToolMetrics()
    for meta in registry.all():
        await registry.enable(meta.name)


def returns(messages: list[ModelMessage]) -> list[ToolReturnPart]:
    return [
        p
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    ]


def calling(name: str, args: dict[str, Any]) -> FunctionModel:
    """Calls `name` once if offered and reports `<outcome>: <content>`; otherwise reports
    the tools it was offered."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        back = returns(messages[-1:])
        if back:
            return ModelResponse(parts=[TextPart(f"{back[0].outcome}: {back[0].content}")])
        offered = sorted(t.name for t in info.function_tools)
        if name in offered:
            return ModelResponse(parts=[ToolCallPart(name, args, f"call-{name}")])
        return ModelResponse(parts=[TextPart(f"offered: {offered}")])

    return FunctionModel(respond)


def agent_for(
    registry: ToolRegistry, tools: tuple[str, ...], model: FunctionModel
) -> Agent[AgentDeps, str | DeferredToolRequests]:
    toolset = registry.toolset_for(AgentDefinition(name="mcp-user", tools=tools))
    return Agent(
        model,
        deps_type=AgentDeps,
        output_type=[str, DeferredToolRequests],
        toolsets=[toolset],
    )


async def run(registry: ToolRegistry, tools: tuple[str, ...], model: FunctionModel) -> Any:
    result = await agent_for(registry, tools, model).run("go", deps=AgentDeps(user_id=uuid4()))
    return result.output


# --- discovery ---------------------------------------------------------------------------


async def test_the_servers_tools_are_described(registry: ToolRegistry) -> None:
    metas = {m.name: m for m in registry.all()}
    assert set(metas) == {"shout", "add", "broken"}
    for meta in metas.values():
        assert (meta.source, meta.category, meta.tags) == ("mcp:tiny", "mcp", ("mcp", "tiny"))
        assert meta.version == "0.2.0"  # the server's own version, when it is semver
        assert meta.parameters["type"] == "object"
    assert metas["shout"].description == "Return the text in capitals."
    assert metas["shout"].parameters["required"] == ["text"]
    assert metas["add"].parameters["properties"]["a"]["type"] == "integer"
    assert sorted(metas["add"].parameters["required"]) == ["a", "b"]
    assert {n for n, m in metas.items() if m.requires_approval} == {"add"}


# --- calls through an agent ------------------------------------------------------------


async def test_an_agent_calls_an_mcp_tool(registry: ToolRegistry) -> None:
    output = await run(registry, ("shout",), calling("shout", {"text": "hello"}))
    assert output == "success: HELLO"
    assert registry.metrics.outcomes("shout") == ["ok"]  # type: ignore[union-attr]


async def test_a_failing_mcp_tool_is_a_result_the_model_sees(registry: ToolRegistry) -> None:
    output = await run(registry, ("broken",), calling("broken", {"reason": "testing"}))
    # The mcp SDK keeps a crashed tool's own text on the server; the model gets its name.
    assert output == "failed: Error executing tool broken"
    assert registry.metrics.outcomes("broken") == ["error"]  # type: ignore[union-attr]
    # the server survives its tool's failure
    assert await run(registry, ("shout",), calling("shout", {"text": "still"})) == (
        "success: STILL"
    )


async def test_a_disabled_mcp_tool_is_not_offered(registry: ToolRegistry) -> None:
    await registry.disable("shout")
    output = await run(registry, ("shout", "broken"), calling("shout", {"text": "x"}))
    assert output == "offered: ['broken']"
    assert registry.metrics.outcomes("shout") == []  # type: ignore[union-attr]


async def test_only_the_agents_allowed_mcp_tools_are_offered(registry: ToolRegistry) -> None:
    output = await run(registry, ("broken",), calling("shout", {"text": "x"}))
    assert output == "offered: ['broken']"
    everything = await run(registry, ("shout", "add", "broken"), calling("none", {}))
    assert everything == "offered: ['add', 'broken', 'shout']"


async def test_an_approval_gated_mcp_tool_pauses_then_runs_once_approved(
    registry: ToolRegistry,
) -> None:
    agent = agent_for(registry, ("add",), calling("add", {"a": 2, "b": 3}))
    deps = AgentDeps(user_id=uuid4())
    paused = await agent.run("add 2 and 3", deps=deps)
    assert isinstance(paused.output, DeferredToolRequests)
    (call,) = paused.output.approvals
    assert (call.tool_name, call.args_as_dict()) == ("add", {"a": 2, "b": 3})
    assert paused.output.calls == []
    assert registry.metrics.outcomes("add") == []  # type: ignore[union-attr]  # nothing ran

    resumed = await agent.run(
        message_history=paused.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call.tool_call_id: True}),
        deps=deps,
    )
    assert resumed.output == "success: 5"
    assert registry.metrics.outcomes("add") == ["ok"]  # type: ignore[union-attr]


async def test_a_rejected_mcp_call_never_reaches_the_server(registry: ToolRegistry) -> None:
    agent = agent_for(registry, ("add",), calling("add", {"a": 2, "b": 3}))
    deps = AgentDeps(user_id=uuid4())
    paused = await agent.run("add", deps=deps)
    assert isinstance(paused.output, DeferredToolRequests)
    call_id = paused.output.approvals[0].tool_call_id
    resumed = await agent.run(
        message_history=paused.all_messages(),
        deferred_tool_results=DeferredToolResults(approvals={call_id: False}),
        deps=deps,
    )
    assert isinstance(resumed.output, str) and resumed.output.startswith("denied: ")
    assert registry.metrics.outcomes("add") == []  # type: ignore[union-attr]


async def test_invoke_calls_an_mcp_tool_directly(registry: ToolRegistry) -> None:
    assert await invoke(registry, "shout", {"text": "direct"}, CALLER) == "DIRECT"


# --- the container -----------------------------------------------------------------------


async def test_the_container_opens_the_servers_and_lists_their_tools(tmp_path: Path) -> None:
    config = tiny().model_dump()
    container = make_container(make_settings(tmp_path, tools={"mcp_servers": [config]}))
    async with AppRuntime(container, memory=False):
        listed = {m.name: m for m in await container.tools().all()}
        assert {"shout", "add", "broken"} <= set(listed)
        assert {"calculator", "current_time"} <= set(listed)  # the built-ins are still there
        assert listed["shout"].source == "mcp:tiny"
        assert listed["calculator"].source == "python"
        assert [m.name for m in await container.tools().all("mcp")] == [
            "add",
            "broken",
            "shout",
        ]
        registry = container.tool_registry()
        assert await invoke(registry, "shout", {"text": "wired"}, CALLER) == "WIRED"


async def test_an_mcp_server_that_cannot_start_fails_start_up_naming_it(
    tmp_path: Path,
) -> None:
    bad = tiny(name="ghost", command=str(tmp_path / "no-such-executable"), timeout=5.0)
    async with AsyncExitStack() as stack:
        with pytest.raises(ConfigurationError) as caught:
            await open_mcp_servers([tiny(), bad], stack)
    error = caught.value
    assert error.details == {"variable": "TOOLS__MCP_SERVERS", "server": "ghost"}
    assert "TOOLS__MCP_SERVERS" in error.message and "'ghost'" in error.message

    settings = make_settings(tmp_path, tools={"mcp_servers": [bad.model_dump()]})
    container = make_container(settings)
    with pytest.raises(ConfigurationError) as at_start:
        await AppRuntime(container, memory=False).open()  # closes what it opened, then raises
    assert at_start.value.details["server"] == "ghost"


async def test_a_misspelled_approval_gate_fails_start_up(tmp_path: Path) -> None:
    # A typo must not silently leave `add` ungated.
    async with AsyncExitStack() as stack:
        with pytest.raises(ConfigurationError) as caught:
            await open_mcp_servers([tiny(requires_approval=["ad"])], stack)
    assert caught.value.details["server"] == "tiny"
    assert "['ad']" in caught.value.message and "requires_approval" in caught.value.message


DOTTED_SERVER = """
from mcp.server.mcpserver import MCPServer

server = MCPServer("dotted")


@server.tool(name="files.read")
def read(path: str) -> str:
    return path


if __name__ == "__main__":
    server.run()
"""


async def test_a_tool_name_the_registry_cannot_carry_fails_start_up_naming_it(
    tmp_path: Path,
) -> None:
    script = tmp_path / "dotted_server.py"
    script.write_text(DOTTED_SERVER)
    config = tiny(name="dotted", args=[str(script)], requires_approval=[])
    async with AsyncExitStack() as stack:
        with pytest.raises(ConfigurationError) as caught:
            await open_mcp_servers([config], stack)
    assert caught.value.details == {"variable": "TOOLS__MCP_SERVERS", "server": "dotted"}
    assert "'files.read'" in caught.value.message
