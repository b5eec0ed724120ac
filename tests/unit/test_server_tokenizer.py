"""Token counts by the server's tokenizer, and the budget using them with the per-model
calibration (`adapters/lmstudio/tokenize.py`, `application/agents/budgeting.py`)."""

from __future__ import annotations

import json

import httpx2
import pytest
from pydantic_ai.messages import ModelMessage, ModelRequest, UserPromptPart
from pydantic_ai.models.test import TestModel

from adapters.inprocess.models import StaticModelSource
from application.agents import budgeting
from application.agents.budgeting import fitted_history, observe_usage
from application.agents.runner import AgentRunner
from domain.agents.calibration import TokenCalibration
from domain.agents.models import AgentDefinition, HistoryPolicy, TurnUsage
from domain.errors import PayloadTooLarge
from tests.unit.scripted_llm import Server, make

NOT_FOUND = httpx2.Response(404, json={"detail": "Not Found"})


def paths(server: Server) -> list[str]:
    return [request.url.path for request in server.requests]


async def test_llama_cpp_python_counts_with_extras_tokenize_count() -> None:
    server = Server(httpx2.Response(200, json={"count": 42}))
    models, _ = make(server, model="smol")
    assert await models.count_tokens("hello there") == 42
    assert await models.count_tokens("again") == 42
    assert paths(server) == ["/extras/tokenize/count"] * 2  # the endpoint is remembered
    assert json.loads(server.requests[0].content) == {"input": "hello there", "model": "smol"}


async def test_llama_server_counts_with_tokenize() -> None:
    server = Server(NOT_FOUND, httpx2.Response(200, json={"tokens": [1, 2, 3]}))
    models, _ = make(server, model="qwen")
    assert await models.count_tokens("abc") == 3
    assert json.loads(server.requests[1].content) == {"content": "abc"}
    assert await models.count_tokens("def") == 3
    assert paths(server) == ["/extras/tokenize/count", "/tokenize", "/tokenize"]


async def test_a_server_without_a_tokenizer_is_asked_once() -> None:
    server = Server(NOT_FOUND)
    models, _ = make(server, model="lmstudio-model")
    assert await models.count_tokens("abc") is None
    assert await models.count_tokens("abc") is None
    assert paths(server) == ["/extras/tokenize/count", "/tokenize"]


async def test_an_unreachable_server_is_asked_again_later() -> None:
    server = Server(httpx2.ConnectError("down"), httpx2.Response(200, json={"count": 5}))
    models, _ = make(server, model="smol")
    assert await models.count_tokens("abc") is None
    assert await models.count_tokens("abc") == 5


async def test_hosted_providers_are_not_asked() -> None:
    server = Server(httpx2.Response(200, json={"count": 5}))
    models, _ = make(server, model="smol")
    assert await models.count_tokens("abc", "openai:gpt-4o") is None
    assert server.requests == []


class CountingSource(StaticModelSource):
    def __init__(self, window: int, exact: int | None) -> None:
        super().__init__(TestModel())
        self.context_tokens = window
        self.exact = exact
        self.asked: list[str] = []

    async def count_tokens(self, text: str, name: str | None = None) -> int | None:
        self.asked.append(text)
        return self.exact


@pytest.fixture(autouse=True)
def fresh_calibration(monkeypatch: pytest.MonkeyPatch) -> TokenCalibration:
    calibration = TokenCalibration()
    monkeypatch.setattr(budgeting, "CALIBRATION", calibration)
    return calibration


def agent(source: StaticModelSource, max_tokens: int = 100_000) -> AgentRunner[str]:
    definition = AgentDefinition(name="budgeted", history=HistoryPolicy(max_tokens=max_tokens))
    return AgentRunner(definition, models=source)


async def test_ordinary_messages_cost_no_tokenize_call() -> None:
    source = CountingSource(4096, exact=10)
    await fitted_history(agent(source), "a short message")
    assert source.asked == []


async def test_a_long_message_is_counted_by_the_server() -> None:
    long = "word " * 3000  # estimated ~3600 tokens: too many for 4096 by the estimate alone
    fits = CountingSource(4096, exact=1200)
    await fitted_history(agent(fits), long)
    assert fits.asked == [long]
    with pytest.raises(PayloadTooLarge) as refused:
        await fitted_history(agent(CountingSource(4096, exact=3900)), long)
    assert refused.value.details["tokens"] == 3900


async def test_calibration_shrinks_the_history_budget(fresh_calibration: TokenCalibration) -> None:
    source = CountingSource(4096, exact=None)
    before = (await fitted_history(agent(source), "hi")).max_tokens
    fresh_calibration.observe("test:test", 1000, 2000)  # TestModel's key
    after = (await fitted_history(agent(source), "hi")).max_tokens
    assert after < before * 0.6  # ~half the raw-estimate tokens fit the same window


def history_of(text: str) -> list[ModelMessage]:
    return [ModelRequest(parts=[UserPromptPart(content=text)])]


async def test_a_one_request_turn_teaches_the_calibration(
    fresh_calibration: TokenCalibration,
) -> None:
    runner = agent(StaticModelSource(TestModel()))
    history = history_of("the earlier part of the conversation " * 30)
    await observe_usage(runner, history, "and now", TurnUsage(requests=1, input_tokens=900))
    known = fresh_calibration.get("test:test")
    assert known is not None and known.ratio > 1
    await observe_usage(runner, history, "tools", TurnUsage(requests=3, input_tokens=9000))
    assert fresh_calibration.get("test:test") == known  # summed over requests: not a sample
