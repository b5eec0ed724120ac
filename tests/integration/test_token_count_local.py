"""Token counts and calibration against the REAL bundled server (llama-cpp-python +
SmolLM2-135M): its tokenizer endpoint, and a turn's `usage.prompt_tokens` as a sample."""

from __future__ import annotations

import httpx2
import pytest

from adapters.lmstudio import LMStudioModels, open_http_client
from adapters.settings import LMStudioSettings
from application.agents import budgeting
from application.agents.budgeting import COUNTER, calibration_key, fitted_history, observe_usage
from application.agents.runner import AgentRunner, usage_of
from domain.agents.calibration import TokenCalibration
from domain.agents.models import AgentDefinition
from domain.errors import PayloadTooLarge
from domain.model_params import ModelParams
from tests.integration.conftest import MODEL_ALIAS

pytestmark = pytest.mark.integration

TEXT = (
    "Привет! Напомни мне, пожалуйста, купить молоко и хлеб завтра утром. "
    "The meeting with Ada moved to 14:30 on 2026-12-07, room B-12."
)


async def test_the_bundled_server_counts_as_it_evaluates(
    llm_models: LMStudioModels, llm_server: str
) -> None:
    counted = await llm_models.count_tokens(TEXT)
    assert counted is not None and counted > 0
    async with httpx2.AsyncClient(timeout=180) as http:
        answer = await http.post(
            f"{llm_server}/completions", json={"prompt": TEXT, "max_tokens": 1}
        )
    assert answer.json()["usage"]["prompt_tokens"] == counted
    # SmolLM2's small vocabulary spends more on Cyrillic than the estimate prices
    assert counted != COUNTER.count(TEXT)


async def test_a_real_turn_calibrates_the_estimate(
    llm_models: LMStudioModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    calibration = TokenCalibration()
    monkeypatch.setattr(budgeting, "CALIBRATION", calibration)
    definition = AgentDefinition(
        name="calibrated",
        instructions="You are a helpful assistant. Answer in one short sentence. " * 4,
        model_settings=ModelParams(max_tokens=8, temperature=0.0),
    )
    agent: AgentRunner[str] = AgentRunner(definition, models=llm_models)
    result = await agent.run_async(TEXT)
    usage = usage_of(result)
    assert usage.requests == 1 and usage.input_tokens > 0
    assert usage.cached_tokens == 0  # llama-cpp-python reports no cached count
    await observe_usage(agent, [], TEXT, usage)
    key = await calibration_key(agent)
    assert key == f"lmstudio:{MODEL_ALIAS}"
    known = calibration.get(key)
    assert known is not None and known.samples == 1
    assert 0.5 < known.ratio < 3  # the template's and the tokenizer's share, measured


async def test_the_servers_count_decides_whether_a_long_message_fits(
    llm_settings: LMStudioSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budgeting, "CALIBRATION", TokenCalibration())
    settings = llm_settings.model_copy(update={"context_tokens": 4096})
    client = open_http_client(settings)
    try:
        models = LMStudioModels(settings, client)
        agent: AgentRunner[str] = AgentRunner(AgentDefinition(name="long-message"), models=models)
        long = "Напомни мне купить молоко и хлеб. " * 140
        estimated = COUNTER.count(long)
        counted = await models.count_tokens(long)
        assert counted is not None and estimated < 3000 < counted  # fits by the estimate only
        with pytest.raises(PayloadTooLarge) as refused:
            await fitted_history(agent, long)
        assert refused.value.details["tokens"] == counted
    finally:
        await client.aclose()
