"""Long-term memory use-cases on fakes: outbox, degraded search, hybrid, cleanup, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from adapters.inprocess.memories import InProcessMemoryRepository
from application.memory import (
    LongTermMemory,
    MemoryFilter,
    NewMemory,
    ReconcileIndex,
    ReindexMemories,
)
from application.memory_fusion import Fusion, fuse
from domain.errors import NotFound, ValidationFailed
from domain.memory.long_term import IndexState, MemoryKind, RankingWeights
from tests.fakes import FlakyIndex, HashEmbedder
from tests.fakes.clock import FakeClock


@pytest.fixture
def parts() -> tuple[InProcessMemoryRepository, FlakyIndex, HashEmbedder, FakeClock]:
    return (
        InProcessMemoryRepository(),
        FlakyIndex(),
        HashEmbedder(),
        FakeClock(datetime(2026, 11, 28, tzinfo=UTC)),
    )


def ltm(parts: Any, **kw: Any) -> LongTermMemory:
    repo, index, embedder, clock = parts
    return LongTermMemory(repo, index, embedder, clock, **kw)


ADA, EVE = uuid4(), uuid4()


async def test_store_commits_then_indexes(parts: Any) -> None:
    repo, index, _, _ = parts
    m = await ltm(parts).store(ADA, NewMemory("I prefer green tea", MemoryKind.PREFERENCE))
    assert m.index_state is IndexState.INDEXED and m.importance == 0.75
    assert repo.rows[m.id].index_state is IndexState.INDEXED and m.id in index.points


async def test_index_outage_loses_nothing_and_the_reconciler_catches_up(parts: Any) -> None:
    repo, index, embedder, _ = parts
    memory = ltm(parts)
    index.down = True
    stored = await memory.store_many(ADA, [NewMemory("the launch code is 1234"), NewMemory("tea")])
    assert all(repo.rows[m.id].index_state is IndexState.PENDING for m in stored)
    result = await memory.retrieve(ADA, "launch code 1234")
    assert result.degraded and result.mode == "lexical"
    assert result.items[0].memory.content == "the launch code is 1234"
    index.down = False
    assert await ReconcileIndex(repo, index, embedder).execute() == {"indexed": 2, "removed": 0}
    assert await index.count(ADA) == 2
    assert not (await memory.retrieve(ADA, "launch code")).degraded


async def test_embedder_outage_stores_without_a_vector_then_reconciles(parts: Any) -> None:
    repo, index, embedder, _ = parts
    embedder.down = True
    m = await ltm(parts).store(ADA, NewMemory("remember the milk"))
    assert repo.rows[m.id].embedding is None and await index.count() == 0
    embedder.down = False
    await ReconcileIndex(repo, index, embedder).execute()
    assert repo.rows[m.id].embedding is not None and await index.count() == 1


async def test_hybrid_finds_what_dense_misses(parts: Any) -> None:
    memory = ltm(parts, weights=RankingWeights(similarity=1, importance=0, recency=0))
    await memory.store_many(
        ADA,
        [
            NewMemory("Invoice INV-20931 was paid in March"),
            NewMemory("we paid the invoices"),
            NewMemory("payment schedule for invoices"),
        ],
    )
    hybrid = await memory.retrieve(ADA, "status of INV-20931", k=1, mode="hybrid")
    assert hybrid.items[0].memory.content.startswith("Invoice INV-20931")
    lexical = await memory.retrieve(ADA, "INV-20931", k=3, mode="lexical")
    assert [i.memory.content for i in lexical.items] == ["Invoice INV-20931 was paid in March"]


async def test_retrieval_counts_access_and_respects_filters(parts: Any) -> None:
    repo, *_ = parts
    memory = ltm(parts)
    fact = await memory.store(ADA, NewMemory("Ada's cat is Miso", MemoryKind.FACT))
    await memory.store(ADA, NewMemory("Ada talked about her cat"))
    facts = MemoryFilter(kind=MemoryKind.FACT)
    for mode in ("dense", "lexical", "hybrid"):  # both sides narrowed, alone and fused
        got = await memory.retrieve(ADA, "cat", k=5, where=facts, mode=mode)
        assert [i.memory.id for i in got.items] == [fact.id], mode
    assert repo.rows[fact.id].access_count == 3
    prefs = MemoryFilter(kind=MemoryKind.PREFERENCE)
    assert (await memory.retrieve(ADA, "cat", k=5, where=prefs)).items == []


async def test_importance_beats_similarity_when_configured(parts: Any) -> None:
    _, _, _, _clock = parts
    memory = ltm(parts, weights=RankingWeights(similarity=0.2, importance=0.8, recency=0))
    await memory.store(ADA, NewMemory("coffee coffee coffee chat", importance=0.05))
    await memory.store(ADA, NewMemory("Ada is allergic to coffee", MemoryKind.FACT, importance=1.0))
    top = (await memory.retrieve(ADA, "coffee chat", k=1)).items[0]
    assert top.memory.content == "Ada is allergic to coffee"


async def test_forget_and_cleanup(parts: Any) -> None:
    repo, index, _, clock = parts
    memory = ltm(parts)
    keep = await memory.store(
        ADA, NewMemory("important: Ada's passport expires 2030", importance=0.9)
    )
    old = await memory.store(ADA, NewMemory("small talk about weather", importance=0.1))
    clock.advance(timedelta(days=200))
    recent = await memory.store(ADA, NewMemory("more small talk", importance=0.1))
    assert await memory.cleanup_old_memories(ADA, timedelta(days=90), 0.5) == 1
    assert set(index.points) == {keep.id, recent.id} and old.id not in repo.rows
    await memory.forget(ADA, recent.id)
    with pytest.raises(NotFound):
        await memory.forget(ADA, recent.id)
    assert set(index.points) == {keep.id}


async def test_forget_while_index_down_is_finished_by_the_reconciler(parts: Any) -> None:
    repo, index, embedder, _ = parts
    memory = ltm(parts)
    m = await memory.store(ADA, NewMemory("to be forgotten"))
    index.down = True
    await memory.forget(ADA, m.id)
    assert (await memory.get_recent(ADA)).items == []
    index.down = False
    assert await ReconcileIndex(repo, index, embedder).execute() == {"indexed": 0, "removed": 1}
    assert await index.count() == 0 and m.id not in repo.rows


async def test_users_never_see_each_other(parts: Any) -> None:
    memory = ltm(parts)
    secret = await memory.store(ADA, NewMemory("Ada's PIN is 4321"))
    await memory.store(EVE, NewMemory("Eve's PIN is 9876"))
    for mode in ("dense", "lexical", "hybrid"):
        got = await memory.retrieve(EVE, "Ada PIN 4321", k=10, mode=mode)  # type: ignore[arg-type]
        assert secret.id not in [i.memory.id for i in got.items]
    with pytest.raises(NotFound):
        await memory.forget(EVE, secret.id)


async def test_reindex_rebuilds_from_the_database(parts: Any) -> None:
    repo, index, embedder, _ = parts
    memory = ltm(parts)
    await memory.store_many(ADA, [NewMemory(f"memory number {i}") for i in range(7)])
    index.points.clear()
    seen: list[tuple[str, int]] = []

    def progress(phase: str, done: int) -> None:
        seen.append((phase, done))

    assert await ReindexMemories(repo, index, embedder).execute(page_size=3, progress=progress) == 7
    assert await index.count(ADA) == 7
    assert seen == [("indexing", 3), ("indexing", 6), ("indexing", 7)]  # nothing to re-embed
    calls = embedder.calls
    await ReindexMemories(repo, index, embedder).execute(reembed=True)
    assert embedder.calls > calls


async def test_bad_queries(parts: Any) -> None:
    with pytest.raises(ValidationFailed):
        await ltm(parts).retrieve(ADA, "   ")
    with pytest.raises(ValidationFailed):
        await ltm(parts).retrieve(ADA, "x", k=0)


def test_rrf_fusion_is_normalised_and_keeps_each_sides_score() -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    scores = fuse([(a, 0.9), (b, 0.8)], [(a, 7.0), (c, 3.0)], Fusion(lexical_weight=1.0))
    assert scores[a].score == pytest.approx(1.0)
    assert scores[b].score == scores[c].score < scores[a].score
    assert (scores[b].dense, scores[b].lexical, scores[c].lexical) == (0.8, None, 3.0)
    weighted = fuse([(a, 0.9), (b, 0.8)], [(b, 7.0), (a, 3.0)], Fusion(lexical_weight=2.0))
    assert weighted[b].score > weighted[a].score  # the heavier side's first wins


async def test_cleanup_refuses_nonsense_bounds(parts: Any) -> None:
    with pytest.raises(ValidationFailed):
        await ltm(parts).cleanup_old_memories(ADA, timedelta(days=-1), 0.5)
    with pytest.raises(ValidationFailed):
        await ltm(parts).cleanup_old_memories(ADA, timedelta(days=1), 1.5)


class FixedScorer:
    def __init__(self, value: float | None) -> None:
        self.value = value

    async def score(self, content: str, kind: MemoryKind) -> float:
        if self.value is None:
            raise ConnectionError("model down")
        return self.value


async def test_importance_is_llm_scored_when_configured_else_heuristic(parts: Any) -> None:
    repo, index, embedder, clock = parts
    scored = LongTermMemory(repo, index, embedder, clock, scorer=FixedScorer(0.42))
    assert (await scored.store(ADA, NewMemory("anything"))).importance == 0.42
    clamped = LongTermMemory(repo, index, embedder, clock, scorer=FixedScorer(7.0))
    assert (await clamped.store(ADA, NewMemory("anything"))).importance == 1.0
    failing = LongTermMemory(repo, index, embedder, clock, scorer=FixedScorer(None))
    assert (await failing.store(ADA, NewMemory("we talked about the weather"))).importance == 0.3
    given = await scored.store(ADA, NewMemory("explicit", importance=0.9))
    assert given.importance == 0.9


async def test_unstorable_memories_are_refused_before_any_write(parts: Any) -> None:
    """Whoever writes (the API, the `remember` tool, fact extraction): NUL, lone
    surrogates and metadata nested too deep are a validation error, nothing is stored."""
    from domain.errors import ValidationFailed

    repo, _, _, _ = parts
    service, user = ltm(parts), uuid4()
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    for bad in (
        NewMemory("nul \x00 here"),
        NewMemory("lone \ud800"),
        NewMemory("ok", metadata=deep),
    ):
        with pytest.raises(ValidationFailed):
            await service.store(user, bad)
    assert not repo.rows


async def test_an_edit_is_searchable_at_once_and_never_by_its_old_text(parts: Any) -> None:
    from application.memory import MemoryEdit

    repo, _index, _, clock = parts
    memory = ltm(parts)
    stored = await memory.store(ADA, NewMemory("my cat is called Felix"))
    clock.advance(timedelta(minutes=1))
    edited = await memory.update(ADA, stored.id, MemoryEdit(content="my dog is called Rex"))
    assert edited.updated_at == clock.at and edited.index_state is IndexState.INDEXED
    found = await memory.retrieve(ADA, "dog Rex", k=1)
    assert found.items[0].memory.content == "my dog is called Rex"
    for mode in ("dense", "lexical", "hybrid"):
        old = await memory.retrieve(ADA, "cat Felix", k=5, mode=mode)  # type: ignore[arg-type]
        assert all(i.memory.content != "my cat is called Felix" for i in old.items)
    with pytest.raises(NotFound):
        await memory.update(EVE, stored.id, MemoryEdit(content="mine now"))
    with pytest.raises(ValidationFailed):
        await memory.update(ADA, stored.id, MemoryEdit(content="  "))
    assert repo.rows[stored.id].content == "my dog is called Rex"


async def test_an_edit_with_the_embedder_down_is_found_lexically_not_by_its_old_vector(
    parts: Any,
) -> None:
    from application.memory import MemoryEdit

    _, index, embedder, _ = parts
    memory = ltm(parts)
    stored = await memory.store(ADA, NewMemory("my cat is called Felix"))
    embedder.down = True
    await memory.update(ADA, stored.id, MemoryEdit(content="my dog is called Rex"))
    assert stored.id not in index.points  # the old vector is gone
    embedder.down = False
    found = await memory.retrieve(ADA, "dog Rex", k=1)
    assert found.items[0].memory.content == "my dog is called Rex"


async def test_a_near_duplicate_write_updates_the_memory_it_repeats(parts: Any) -> None:
    repo, _, _, _ = parts
    memory = ltm(parts)
    first = await memory.store(ADA, NewMemory("I prefer green tea", importance=0.4))
    again = await memory.store(
        ADA, NewMemory("I prefer green tea", importance=0.8, metadata={"seen": 2})
    )
    assert again.id == first.id and len(repo.rows) == 1
    assert repo.rows[first.id].importance == 0.8 and repo.rows[first.id].metadata == {"seen": 2}
    other_user = await memory.store(EVE, NewMemory("I prefer green tea"))
    assert other_user.id != first.id and len(repo.rows) == 2  # never across users
    different = await memory.store(ADA, NewMemory("I prefer black coffee"))
    assert different.id != first.id
    # turns of a thread have close vectors (each is indexed with the one before): only
    # near-identical words make a repeat
    a = await memory.store(ADA, NewMemory("see you at the lake", metadata={"session": 9}))
    b = await memory.store(ADA, NewMemory("see you at the lake house", metadata={"session": 9}))
    assert a.id != b.id
    strict = ltm(parts, dedup_similarity=1.01)  # a setting above 1 turns it off
    assert (await strict.store(ADA, NewMemory("I prefer green tea"))).id != first.id


async def test_a_turn_is_indexed_with_the_one_before_it_in_its_thread(parts: Any) -> None:
    memory = ltm(parts)
    turns = [
        NewMemory("We adopted a puppy named Luna", metadata={"session": 1, "date": "8 May 2023"}),
        NewMemory("Wow, congratulations!", metadata={"session": 1, "date": "8 May 2023"}),
        NewMemory("Unrelated note", metadata={"session": 2}),
    ]
    stored = await memory.store_many(ADA, turns[:1])
    stored += await memory.store_many(ADA, turns[1:])
    assert [m.context for m in stored] == ["", "We adopted a puppy named Luna", ""]
    found = await memory.retrieve(ADA, "puppy Luna congratulations", k=1, mode="lexical")
    assert found.items[0].memory.content == "Wow, congratulations!"  # by its context
    dated = await memory.retrieve(ADA, "what happened in May 2023", k=3, mode="lexical")
    assert {i.memory.content for i in dated.items} >= {"Wow, congratulations!"}


async def test_reindex_resumes_where_a_stopped_run_left_off(parts: Any) -> None:
    repo, index, embedder, _ = parts
    await ltm(parts).store_many(ADA, [NewMemory(f"fact {w}") for w in "abcdefg"])
    embedder.model_name = "hash-bow-v2"
    pages = 0

    def stop_after_two_pages(phase: str, done: int) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise KeyboardInterrupt  # killed mid-run

    with pytest.raises(KeyboardInterrupt):
        await ReindexMemories(repo, index, embedder).execute(
            page_size=3, progress=stop_after_two_pages
        )
    models = [m.embedding_model for m in repo.rows.values()]
    assert models.count("hash-bow-v2") == 6 and models.count("hash-bow") == 1
    seen: list[tuple[str, int]] = []
    await ReindexMemories(repo, index, embedder).execute(
        page_size=3, progress=lambda p, d: seen.append((p, d))
    )
    assert ("embedding", 1) in seen  # only the one left
    assert {m.embedding_model for m in repo.rows.values()} == {"hash-bow-v2"}


async def test_search_skips_vectors_of_another_model_and_finds_them_lexically(
    parts: Any,
) -> None:
    _repo, _index, embedder, _ = parts
    memory = ltm(parts)
    stored = await memory.store(ADA, NewMemory("the launch code is 1234"))
    embedder.model_name = "hash-bow-v2"  # changed, not yet re-embedded
    found = await memory.retrieve(ADA, "launch code", k=1)
    assert found.items[0].memory.id == stored.id
    assert found.items[0].dense is None and found.items[0].lexical is not None
