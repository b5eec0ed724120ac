"""LLM fact extraction for long-term memory (mem0-style, add-only).

After a turn, a small agent reads the exchange and lists durable facts and preferences
about the user. Each is stored unless a memory already says nearly the same (cosine
similarity at or above `duplicate_similarity`): facts are only ever added, never edited.
Enabled per agent (`memory.extract_facts`); it needs a model that can return structured
output, so it is off by default.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from application.agents.ports import ModelSource
from application.agents.runner import AgentRunner
from application.memory import LongTermMemory, NewMemory
from domain.agents.models import AgentDefinition
from domain.memory.long_term import MemoryKind, MemorySource
from domain.model_params import ModelParams

INSTRUCTIONS = (
    "Read one exchange between a user and an assistant. List the durable facts and "
    "preferences it reveals about the USER (name, family, places, plans, likes and dislikes, "
    "constraints), each as one short third-person sentence. Ignore small talk, questions and "
    "anything about the assistant. Return an empty list when there is nothing durable."
)


class ExtractedFacts(BaseModel):
    facts: list[str] = Field(default_factory=list, max_length=10)
    preferences: list[str] = Field(default_factory=list, max_length=10)


class FactExtractor:
    def __init__(self, models: ModelSource, *, duplicate_similarity: float = 0.9) -> None:
        self._duplicate = duplicate_similarity
        self._agent: AgentRunner[ExtractedFacts] = AgentRunner(
            AgentDefinition(
                name="fact-extractor",
                instructions=INSTRUCTIONS,
                model_settings=ModelParams(temperature=0.0, max_tokens=256),
            ),
            output_type=ExtractedFacts,
            models=models,
        )

    async def extract(self, user_message: str, reply: str) -> ExtractedFacts:
        result = await self._agent.run_async(f"User: {user_message}\nAssistant: {reply}")
        return result.output

    async def remember_new(
        self, memory: LongTermMemory, user_id: UUID, found: ExtractedFacts, source: UUID | None
    ) -> list[str]:
        """Store the facts not already known; returns what was added."""
        added: list[str] = []
        items = [(f, MemoryKind.FACT) for f in found.facts] + [
            (p, MemoryKind.PREFERENCE) for p in found.preferences
        ]
        for text, kind in items:
            text = text.strip()
            if not text:
                continue
            known = await memory.retrieve(user_id, text, k=1, mode="dense")
            if known.items and known.items[0].similarity >= self._duplicate:
                continue
            await memory.store(
                user_id,
                NewMemory(
                    text, kind, source_conversation_id=source, source=MemorySource.EXTRACTION
                ),
            )
            added.append(text)
        return added


class LLMImportanceScorer:
    """`ImportanceScorer` as a small agent: how much would a personal assistant need to
    remember this, from 0 (trivia) to 1 (critical: health, safety, identity, deadlines)."""

    def __init__(self, models: ModelSource) -> None:
        self._agent: AgentRunner[float] = AgentRunner(
            AgentDefinition(
                name="importance-scorer",
                instructions=(
                    "Rate how important it is for a personal assistant to remember this "
                    "about its user, from 0.0 (trivia) to 1.0 (critical: health, safety, "
                    "identity, deadlines). Answer with the number only."
                ),
                model_settings=ModelParams(temperature=0.0, max_tokens=16),
            ),
            output_type=float,
            models=models,
        )

    async def score(self, content: str, kind: MemoryKind) -> float:
        result = await self._agent.run_async(f"({kind.value}) {content}")
        return float(result.output)
