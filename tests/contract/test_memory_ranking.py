"""Ranking quality is the same on every vector backend: hybrid retrieval through the real
`LongTermMemory` (context from the turn before, dates, stemmed full text, weighted fusion)
over each index of the contract suite (fake, pgvector both plans, Qdrant local, Qdrant
Edge) finds every question's evidence in the top K, as over the exact reference index (the test
embedder gives many equal similarities, so the order below the evidence may differ).

A small chat in two sessions is shipped here; its questions need what the retrieval adds:
the answer to "what did Ana adopt" is a reply that only its previous turn explains, and
"May 2023" is only in the metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

from adapters.inprocess.memories import InProcessMemoryRepository
from adapters.inprocess.vector_index import InProcessVectorIndex
from application.memory import LongTermMemory, NewMemory
from domain.health import AdapterHealth
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term import MemoryKind, RankingWeights
from domain.memory.long_term_ports import IndexedVector, MemoryIndex, VectorHit
from tests.fakes import HashEmbedder
from tests.fakes.clock import FakeClock

from .test_memory_index import DIM, Loaded, index_backend, loaded, pg_database  # noqa: F401

TURNS = [
    ("Ana: I finally adopted a grey kitten called Pixel!", 1, "8 May, 2023"),
    ("Ben: That's wonderful news, congratulations!", 1, "8 May, 2023"),
    ("Ana: Thanks! She sleeps all day on the sofa.", 1, "8 May, 2023"),
    ("Ben: I'm training for the Berlin marathon in September.", 1, "8 May, 2023"),
    ("Ana: Wow, good luck with that.", 1, "8 May, 2023"),
    ("Ben: My knee hurts after the long runs though.", 2, "2 July, 2023"),
    ("Ana: Have you seen a physiotherapist about it?", 2, "2 July, 2023"),
    ("Ben: Yes, she told me to stretch more.", 2, "2 July, 2023"),
    ("Ana: I started a pottery class on Thursdays.", 2, "2 July, 2023"),
    ("Ben: Send me a photo of your first bowl!", 2, "2 July, 2023"),
]
QUESTIONS = [
    ("What did Ana adopt?", {0, 1}),
    ("Which marathon is Ben running?", {3}),
    ("What did the physiotherapist advise Ben?", {7}),
    ("What happened in May 2023?", {0}),
    ("When does Ana go to pottery?", {8}),
]
K = 3


class PutThrough:
    """The index under test, loaded as the suite loads it (rows first, for pgvector)."""

    def __init__(self, under_test: Loaded) -> None:
        self._loaded = under_test
        self.name = under_test.index.name

    async def ensure_ready(self, dim: int) -> None:
        await self._loaded.index.ensure_ready(dim)

    async def upsert(self, items: Sequence[IndexedVector]) -> None:
        await self._loaded.put(items)

    async def search(
        self, user_id: UUID, vector: Sequence[float], k: int, where: MemoryFilter = ANY_MEMORY
    ) -> list[VectorHit]:
        return await self._loaded.index.search(user_id, vector, k, where)

    async def delete(self, user_id: UUID, ids: Sequence[UUID]) -> None:
        await self._loaded.index.delete(user_id, ids)

    async def delete_user(self, user_id: UUID) -> None:
        await self._loaded.index.delete_user(user_id)

    async def count(self, user_id: UUID | None = None) -> int:
        return await self._loaded.index.count(user_id)

    async def check(self) -> AdapterHealth:
        return await self._loaded.index.check()


async def rankings(index: MemoryIndex) -> tuple[list[list[int]], float]:
    """Each question's top K (as turn positions) and the mean recall@K."""
    memory = LongTermMemory(
        InProcessMemoryRepository(),
        index,
        HashEmbedder(DIM),
        FakeClock(datetime(2023, 8, 1, tzinfo=UTC)),
        RankingWeights(similarity=1, importance=0, recency=0),
    )
    user = uuid4()
    items = [NewMemory(text, metadata={"session": s, "date": d}) for text, s, d in TURNS]
    stored = await memory.store_many(user, items)
    position = {m.id: n for n, m in enumerate(stored)}
    tops, recall = [], 0.0
    for question, evidence in QUESTIONS:
        found = await memory.retrieve(user, question, k=K)
        top = [position[i.memory.id] for i in found.items]
        tops.append(top)
        recall += len(set(top) & evidence) / len(evidence)
    return tops, recall / len(QUESTIONS)


async def test_hybrid_ranking_is_the_same_on_every_index(loaded: Loaded) -> None:  # noqa: F811
    reference, reference_recall = await rankings(InProcessVectorIndex(DIM))
    assert reference_recall == 1.0
    tops, recall = await rankings(PutThrough(loaded))
    assert recall == reference_recall  # every question's evidence in the top K
    assert len(tops) == len(reference) and all(len(t) == K for t in tops)


FACTS = {0, 3, 8}  # the turns stored as facts


async def filtered_tops(index: MemoryIndex) -> list[list[int]]:
    """Each question's top K among the facts alone (hybrid: both sides narrowed)."""
    weights = RankingWeights(similarity=1, importance=0, recency=0)
    memory = LongTermMemory(
        InProcessMemoryRepository(), index, HashEmbedder(DIM), FakeClock(), weights
    )
    user = uuid4()
    items = [
        NewMemory(
            text,
            MemoryKind.FACT if n in FACTS else MemoryKind.EPISODIC,
            metadata={"session": s, "date": d},
        )
        for n, (text, s, d) in enumerate(TURNS)
    ]
    position = {m.id: n for n, m in enumerate(await memory.store_many(user, items))}
    facts = MemoryFilter(kind=MemoryKind.FACT)
    return [
        [position[i.memory.id] for i in (await memory.retrieve(user, q, K, facts)).items]
        for q, _ in QUESTIONS
    ]


async def test_a_kind_filter_narrows_hybrid_search_alike_on_every_index(
    loaded: Loaded,  # noqa: F811
) -> None:
    tops = await filtered_tops(PutThrough(loaded))
    for top, (_, evidence) in zip(tops, QUESTIONS, strict=True):
        assert set(top) == FACTS  # every fact (K of them), nothing else
        if evidence & FACTS:
            assert top[0] in evidence  # the evidence first, as without the filter
