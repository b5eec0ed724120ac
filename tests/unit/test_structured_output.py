"""Typed output on local servers: the `response_format` each server form sends (offline)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelHTTPError

from adapters.lmstudio import LMStudioModels, open_http_client
from adapters.settings import LMStudioSettings
from application.facts import ExtractedFacts, FactExtractor, LLMImportanceScorer
from domain.memory.long_term import MemoryKind
from tests.fakes.loopback import serve
from tests.fakes.openai_server import LMSTUDIO_FORMAT_ERROR, build_app
from tests.unit.scripted_llm import Server, close_after_the_test, completion, make, tool_call


class City(BaseModel):
    name: str
    country: str


ANSWER = '{"name": "Paris", "country": "France"}'


async def run(form: str, answer: httpx2.Response) -> tuple[City, dict[str, object]]:
    server = Server(answer)
    models, _ = make(server, model="chat", structured_output=form)
    result = await Agent(await models.model(), output_type=City).run("Capital of France?")
    return result.output, server.bodies()[0]


async def test_bundled_server_form_puts_the_schema_in_a_json_object() -> None:
    output, body = await run("json_object", completion(ANSWER))
    assert output == City(name="Paris", country="France")
    form = body["response_format"]
    assert isinstance(form, dict) and form["type"] == "json_object"
    assert form["schema"]["required"] == ["name", "country"]
    assert "tools" not in body  # no output tool: constrained decoding instead


async def test_lm_studio_form_is_openais_json_schema() -> None:
    output, body = await run("json_schema", completion(ANSWER))
    assert output.name == "Paris"
    form = body["response_format"]
    assert isinstance(form, dict) and form["type"] == "json_schema"
    assert form["json_schema"]["schema"]["required"] == ["name", "country"]


async def test_tool_form_keeps_output_as_a_tool_call() -> None:
    answer = completion(None, [tool_call("final_result", ANSWER)])
    output, body = await run("tool", answer)
    assert output.country == "France"
    assert "response_format" not in body and body.get("tool_choice") in (None, "auto")


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError):
        LMStudioSettings(structured_output="grammar")  # type: ignore[arg-type]


async def test_forced_tool_choice_setting_reaches_the_request() -> None:
    """`LM_STUDIO__FORCED_TOOL_CHOICE=true`: output as a tool call is forced (`required`);
    by default it is left to the model (`auto`), which llama.cpp's servers need."""
    answer = completion(None, [tool_call("final_result", ANSWER)])
    bodies = {}
    for forced in (True, False):
        server = Server(answer)
        models, _ = make(server, model="chat", structured_output="tool", forced_tool_choice=forced)
        result = await Agent(await models.model(), output_type=City).run("Capital of France?")
        assert result.output.name == "Paris"
        bodies[forced] = server.bodies()[0]
    assert bodies[True]["tool_choice"] == "required"
    assert bodies[False].get("tool_choice") in (None, "auto")


async def test_server_quirks_are_settings_with_todays_values_as_defaults() -> None:
    server = Server(completion("hi"))
    models, _ = make(server, model="chat")
    await Agent(await models.model(), model_settings={"max_tokens": 7}).run("hi")
    assert server.bodies()[0]["max_tokens"] == 7
    assert "max_completion_tokens" not in server.bodies()[0]
    openai_like = Server(completion("hi"))
    models, _ = make(openai_like, model="chat", max_completion_tokens=True)
    await Agent(await models.model(), model_settings={"max_tokens": 7}).run("hi")
    assert openai_like.bodies()[0]["max_completion_tokens"] == 7
    assert models.profile["supports_forced_tool_choice"] is False


@pytest.fixture
def lm_studio() -> Iterator[str]:
    """An LM Studio-style server on loopback (tests/fakes/openai_server.py --lmstudio): it
    refuses `response_format: json_object` with LM Studio's 400."""
    with serve(build_app(lmstudio=True)) as root:
        yield f"{root}/v1"


def over_the_wire(settings: LMStudioSettings) -> LMStudioModels:
    http = open_http_client(settings)
    close_after_the_test(http)
    return LMStudioModels(settings, http)


async def test_typed_output_works_on_lm_studio_with_the_default_settings(lm_studio: str) -> None:
    models = over_the_wire(LMStudioSettings(base_url=lm_studio))  # every other value default
    result = await Agent(await models.model(), output_type=City).run("Capital of France?")
    assert isinstance(result.output, City)
    found = await FactExtractor(models).extract("I live in Lisbon.", "Nice!")
    assert isinstance(found, ExtractedFacts) and found.facts
    assert 0.0 <= await LLMImportanceScorer(models).score("Allergic", MemoryKind.FACT) <= 1.0


async def test_the_bundled_servers_form_is_refused_by_lm_studio(lm_studio: str) -> None:
    """What the default was before: LM Studio answers it with a 400 (so the test above can
    fail), which is why `make run` sets `json_object` only for the bundled server."""
    models = over_the_wire(LMStudioSettings(base_url=lm_studio, structured_output="json_object"))
    agent = Agent(await models.model(), output_type=City)
    with pytest.raises(ModelHTTPError) as info:
        await agent.run("Capital of France?")
    assert info.value.status_code == 400 and LMSTUDIO_FORMAT_ERROR in str(info.value)
