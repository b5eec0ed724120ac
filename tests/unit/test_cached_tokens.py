"""Prompt tokens a server served from its cache reach the turn's usage, metrics and logs."""

from __future__ import annotations

import httpx2

from application.agents.runner import AgentRunner, usage_of
from domain.agents.models import AgentDefinition
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
