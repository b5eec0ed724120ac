"""Typed output on the real bundled model (SmolLM2-135M on llama-cpp-python's server).

With `LM_STUDIO__STRUCTURED_OUTPUT=json_object` (what `make run` sets for the bundled server,
and the `llm_settings` fixture here) the schema goes to the server
as `response_format: {"type": "json_object", "schema": …}` and decoding is constrained to
it, so even a 135M model returns a valid object every time; as a tool call it often
returned nothing usable. Asserts validity (the schema), not wisdom (the content).
"""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field
from pydantic_ai import Agent
from pydantic_ai.settings import ModelSettings

from adapters.lmstudio import LMStudioModels
from application.facts import ExtractedFacts, FactExtractor, LLMImportanceScorer
from domain.memory.long_term import MemoryKind

pytestmark = pytest.mark.integration


class Trip(BaseModel):
    city: str
    country: str
    days: int = Field(ge=0)
    with_children: bool


PROMPTS = [
    "We are flying to Lisbon, Portugal for 4 days with our two kids.",
    "A weekend in Paris, France, just me and my wife.",
    "Ten days in Tokyo, Japan with the whole family including the children.",
    "I'm going to Berlin in Germany for a 3-day conference, alone.",
    "Road trip: one week around Madrid, Spain with my son and daughter.",
    "Two days in Rome, Italy, no kids this time.",
    "We will spend 5 days in Vienna, Austria with our baby.",
    "Business trip to New York, USA, 2 days.",
    "Holiday in Athens, Greece for 6 days, with my children.",
    "A quick day trip to Bruges in Belgium with friends.",
]


@pytest.mark.timeout(1200)  # ~3-25 s a prompt on 2 cores, depending on the load
async def test_a_typed_agent_returns_a_valid_object_for_every_prompt(
    llm_models: LMStudioModels,
) -> None:
    agent = Agent(
        await llm_models.model(),
        output_type=Trip,
        instructions="Extract the trip the user describes.",
        retries=0,  # a retry would hide an invalid first answer
    )
    settings = ModelSettings(max_tokens=80, temperature=0.0)
    trips = [(await agent.run(p, model_settings=settings)).output for p in PROMPTS]
    assert len(trips) == len(PROMPTS) >= 10
    assert all(isinstance(t, Trip) for t in trips)


@pytest.mark.timeout(900)
async def test_fact_extraction_and_llm_importance_are_typed_too(
    llm_models: LMStudioModels,
) -> None:
    found = await FactExtractor(llm_models).extract(
        "My sister Lena lives in Porto and I am allergic to peanuts.", "Noted!"
    )
    assert isinstance(found, ExtractedFacts)
    score = await LLMImportanceScorer(llm_models).score("Allergic to peanuts", MemoryKind.FACT)
    assert isinstance(score, float)
