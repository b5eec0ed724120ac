"""The in-memory index keeps each user's vectors in one matrix, rows moved on delete and
grown on insert: after any mix of writes it answers exactly what brute force over its
`entries` answers."""

from __future__ import annotations

import random
from uuid import UUID, uuid4

import numpy as np

from adapters.inprocess.vector_index import InProcessVectorIndex
from domain.memory.filters import ANY_MEMORY, MemoryFilter
from domain.memory.long_term import MemoryKind
from domain.memory.long_term_ports import IndexedVector

DIM = 8


def truth(index: InProcessVectorIndex, user: UUID, query: np.ndarray, k: int, kind: str | None):
    rows = [
        e
        for e in index.entries.values()
        if e.user_id == user and (kind is None or e.payload.get("kind") == kind)
    ]
    scored = []
    for e in rows:
        v = np.asarray(e.vector, dtype=np.float64)
        scored.append((float(v @ query / np.linalg.norm(v)), e.id))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [i for _, i in scored[:k]]


async def test_any_mix_of_writes_answers_as_brute_force() -> None:
    rng, pick = np.random.default_rng(1), random.Random(1)
    index = InProcessVectorIndex(DIM)
    users = [uuid4(), uuid4()]
    kinds = [k.value for k in MemoryKind]
    for step in range(400):
        op = pick.random()
        known = list(index.entries)
        if op < 0.6 or not known:  # new vectors, some replacing (maybe for another user)
            ids = [pick.choice(known) if known and pick.random() < 0.3 else uuid4()]
            items = [
                IndexedVector(
                    i,
                    pick.choice(users),
                    rng.normal(size=DIM).tolist(),
                    {"kind": pick.choice(kinds)},
                )
                for i in ids
            ]
            await index.upsert(items)
        elif op < 0.95:
            victim = index.entries[pick.choice(known)]
            await index.delete(victim.user_id, [victim.id, uuid4()])
        else:
            await index.delete_user(pick.choice(users))
        query = rng.normal(size=DIM)
        query /= np.linalg.norm(query)
        user, kind = pick.choice(users), pick.choice([None, *kinds])
        where = ANY_MEMORY if kind is None else MemoryFilter(MemoryKind(kind))
        hits = await index.search(user, query.tolist(), 5, where)
        assert [h.id for h in hits] == truth(index, user, query, 5, kind), step
        assert await index.count(user) == sum(e.user_id == user for e in index.entries.values())
