"""Prompt tokens a server served from its cache reach the turn's usage, metrics and logs."""

from __future__ import annotations

import httpx2
from dependency_injector import providers
from structlog.testing import capture_logs

from adapters.observability.metrics import REGISTRY
from application.agents.runner import AgentRunner, usage_of
from domain.agents.models import AgentDefinition
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.unit.scripted_llm import Server, completion, make


def cached_completion(cached: int) -> httpx2.Response:
    body = completion("hello").json()
    body["usage"] = {
        "prompt_tokens": 50,
        "completion_tokens": 2,
        "total_tokens": 52,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    return httpx2.Response(200, json=body)


async def test_cached_prompt_tokens_are_part_of_the_turns_usage() -> None:
    models, _ = make(Server(cached_completion(40)), model="chat-model")
    agent: AgentRunner[str] = AgentRunner(AgentDefinition(name="cached"), models=models)
    usage = usage_of(await agent.run_async("hi"))
    assert (usage.input_tokens, usage.cached_tokens) == (50, 40)
    assert usage.to_dict()["cached_tokens"] == 40


async def test_servers_that_do_not_say_report_zero() -> None:
    models, _ = make(Server(completion("hello")), model="chat-model")
    agent: AgentRunner[str] = AgentRunner(AgentDefinition(name="uncached"), models=models)
    assert usage_of(await agent.run_async("hi")).cached_tokens == 0


def cached_metric(agent: str) -> float:
    labels = {"agent": agent, "direction": "cached"}
    return REGISTRY.get_sample_value("mai_agent_tokens_total", labels) or 0.0


async def test_a_chat_turn_counts_cached_tokens_in_the_metric_and_its_log_line() -> None:
    models, _ = make(Server(cached_completion(40)), model="chat-model")
    container = make_container(make_settings())
    container.model_source.override(providers.Object(models))
    runtime = AppRuntime(container)
    await runtime.open()
    try:
        container.agent_catalog().register(AgentDefinition(name="cache-metric"))
        user = await container.register_user().execute("ada", "ada@example.com", "password123")
        before = cached_metric("cache-metric")
        with capture_logs() as logs:
            done = await container.send_message().execute(user.id, "cache-metric", "hi")
    finally:
        await runtime.close()
    assert done.usage.cached_tokens == 40
    assert cached_metric("cache-metric") - before == 40
    runs = [e for e in logs if e["event"] == "agent_run" and e["agent"] == "cache-metric"]
    assert len(runs) == 1 and runs[0]["cached_tokens"] == 40
