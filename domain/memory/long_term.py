"""Long-term memory: what an agent remembers about a user across conversations.

Ranking is the domain's decision. A memory's final score blends how similar it is to the
query with how important and how recent it is:

    score = w_sim * similarity + w_imp * importance + w_rec * recency
    recency = 0.5 ** (age_days / half_life_days)          (1.0 now, 0.5 one half-life ago)

with weights normalised to sum to 1. With the default weights (0.7, 0.2, 0.1) similarity
leads; raise `importance` and "important and recent" beats "merely similar".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from domain.errors import ValidationFailed
from domain.identity.models import utcnow

MAX_MEMORY_CHARS = 8_000


class MemoryKind(StrEnum):
    EPISODIC = "episodic"  # what happened in a conversation
    FACT = "fact"  # something true about the user or the world
    PREFERENCE = "preference"  # how the user likes things


class MemorySource(StrEnum):
    """Who wrote a memory (its provenance)."""

    USER = "user"  # the user, through the API, GraphQL or the CLI
    TOOL = "tool"  # an agent, through the `remember` tool
    EXTRACTION = "extraction"  # fact extraction from a conversation
    EPISODIC = "episodic"  # the chat's own record of an exchange


class IndexState(StrEnum):
    """The outbox: committed to the database first, then to the vector index."""

    PENDING = "pending"
    INDEXED = "indexed"
    DELETING = "deleting"


@dataclass(slots=True)
class Memory:
    user_id: UUID
    content: str
    kind: MemoryKind = MemoryKind.EPISODIC
    importance: float = 0.5
    metadata: dict[str, Any] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid4)
    embedding: list[float] | None = None
    access_count: int = 0
    last_accessed_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    source_conversation_id: UUID | None = None
    source_message_id: UUID | None = None
    index_state: IndexState = IndexState.PENDING
    source: MemorySource = MemorySource.USER
    embedding_model: str | None = None  # the model that made `embedding`
    context: str = ""  # the neighbouring text it is indexed with (never shown as content)

    def __post_init__(self) -> None:
        check_content(self.content)
        if not 0.0 <= self.importance <= 1.0:
            raise ValidationFailed(
                "Importance must be between 0 and 1.", details={"field": "importance"}
            )


def check_content(content: str) -> None:
    """Content a memory may hold: not blank, not longer than MAX_MEMORY_CHARS."""
    if not content.strip():
        raise ValidationFailed("Memory content is empty.", details={"field": "content"})
    if len(content) > MAX_MEMORY_CHARS:
        raise ValidationFailed(
            f"Memory content is longer than {MAX_MEMORY_CHARS} characters.",
            details={"field": "content", "limit": MAX_MEMORY_CHARS},
        )


@dataclass(frozen=True, slots=True)
class RankingWeights:
    similarity: float = 0.7
    importance: float = 0.2
    recency: float = 0.1
    half_life_days: float = 30.0

    def normalised(self) -> RankingWeights:
        total = self.similarity + self.importance + self.recency
        if total <= 0 or min(self.similarity, self.importance, self.recency) < 0:
            raise ValidationFailed("Ranking weights must be non-negative and not all zero.")
        return RankingWeights(
            self.similarity / total,
            self.importance / total,
            self.recency / total,
            self.half_life_days,
        )


def recency(created_at: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max((now - created_at) / timedelta(days=1), 0.0)
    return math.pow(0.5, age_days / half_life_days) if half_life_days > 0 else 0.0


def final_score(similarity: float, memory: Memory, now: datetime, weights: RankingWeights) -> float:
    w = weights.normalised()
    fresh = recency(memory.last_accessed_at or memory.created_at, now, w.half_life_days)
    return w.similarity * similarity + w.importance * memory.importance + w.recency * fresh


@dataclass(frozen=True, slots=True)
class ScoredMemory:
    memory: Memory
    similarity: float
    score: float
    dense: float | None = None  # the cosine similarity, when dense retrieval found it
    lexical: float | None = None  # the full-text rank, when lexical retrieval found it


def rank(
    candidates: list[tuple[Memory, float]], now: datetime, weights: RankingWeights, k: int
) -> list[ScoredMemory]:
    """The best `k` by final score (ties: more similar, then newer)."""
    scored = [ScoredMemory(m, s, final_score(s, m, now, weights)) for m, s in candidates]
    scored.sort(key=lambda x: (x.score, x.similarity, x.memory.created_at), reverse=True)
    return scored[:k]


_SIGNALS = {
    "preference": re.compile(
        r"\b(i (really )?(like|love|prefer|hate|dislike)|my favou?rite)\b", re.I
    ),
    "identity": re.compile(
        r"\b(my name is|i am|i'm|i live|i work|my (wife|husband|son|daughter|birthday))\b", re.I
    ),
    "instruction": re.compile(r"\b(always|never|remember|don't forget|do not forget)\b", re.I),
    "specific": re.compile(r"\d|@|\b[A-Z][a-z]+ [A-Z][a-z]+\b"),
}


def heuristic_importance(content: str, kind: MemoryKind = MemoryKind.EPISODIC) -> float:
    """A documented, deterministic importance in [0, 1] when no LLM scores it.

    Base by kind (fact 0.5, preference 0.6, episodic 0.3), +0.15 for each signal present:
    a stated preference, something about who the user is, an explicit instruction to
    remember, and specifics (numbers, emails, proper names). Capped at 1.
    """
    base = {MemoryKind.FACT: 0.5, MemoryKind.PREFERENCE: 0.6, MemoryKind.EPISODIC: 0.3}[kind]
    bonus = sum(0.15 for pattern in _SIGNALS.values() if pattern.search(content))
    return round(min(1.0, base + bonus), 3)
