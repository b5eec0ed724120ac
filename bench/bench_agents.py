"""Per-turn framework overhead and agent construction cost, against raw Pydantic AI."""

from __future__ import annotations

from dependency_injector import providers
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.models import StaticModelSource
from bench.harness import Row, compare, time_sync
from domain.agents.models import AgentDefinition, HistoryPolicy
from runtime import AppRuntime
from tests.conftest import make_container, make_settings

INSTRUCTIONS = "You are a benchmark."


def instant(messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("ok")])


def history(turns: int) -> list[ModelMessage]:
    out: list[ModelMessage] = []
    for i in range(turns):
        out.append(ModelRequest(parts=[UserPromptPart(content=f"question {i}")]))
        out.append(ModelResponse(parts=[TextPart(content="ok")]))
    return out


async def run() -> list[Row]:
    model = FunctionModel(instant)
    container = make_container(make_settings())
    container.model_source.override(providers.Object(StaticModelSource(model)))
    # Summaries are a separate model call every few turns; this measures the turn itself.
    container.summarizer.override(providers.Object(None))
    await AppRuntime(container).open()
    catalog = container.agent_catalog()
    # the same 10-message window as the raw agent's history (the default is 40 since the
    # prefix-cache layout; comparing 40 against 10 would measure the window, not MAI)
    window = HistoryPolicy(max_messages=10)
    catalog.register(AgentDefinition(name="bench", instructions=INSTRUCTIONS, history=window))
    user = await container.register_user().execute("bench", "bench@example.com", "password123")
    send = container.send_message()
    first = await send.execute(user.id, "bench", "hi")

    async def framework_turn() -> None:
        await send.execute(user.id, "bench", "hi", first.conversation_id)

    raw_agent = Agent(model, instructions=INSTRUCTIONS)
    raw_history = history(5)  # the same 10-message window the framework sends

    async def raw_turn() -> None:
        await raw_agent.run("hi", message_history=raw_history)

    turn, raw = await compare(framework_turn, raw_turn, n=600)

    built = time_sync(lambda: catalog.get("bench"), n=20_000)
    constructed = time_sync(lambda: Agent(model, instructions=INSTRUCTIONS), n=500)
    return [
        Row(
            "chat turn (SendMessage, in-memory stores, zero-latency model)",
            turn,
            raw,
            "raw Agent.run, same model + 10-message history",
            "stores user + assistant messages, loads the window",
        ),
        Row(
            "agent per request (catalog.get, reused)",
            built,
            constructed,
            "pydantic_ai.Agent(...) per request",
            "goal < 10 µs",
        ),
    ]
