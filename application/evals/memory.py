"""`mai eval memory`: retrieval quality of long-term memory on a user's own data.

Each user of the set becomes a fresh evaluation user; their memories go in through
`LongTermMemory.store_many` (embedding and indexing as in production), every question is
asked through `retrieve` in each mode, and the user and their memories are removed
afterwards, whatever happened. Only the use-case's public methods are used, so what is
measured is what users get, with this deployment's settings.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from uuid import UUID

from application.evals.agent import UNUSABLE_PASSWORD, remove_user
from application.evals.memory_sets import RetrievalSet, SetUser
from application.memory import LongTermMemory, Mode, NewMemory
from domain.evals.models import CaseScore, EvalKind, EvalRun, average
from domain.evals.retrieval import ndcg_at, percentile, recall_at, reciprocal_rank
from domain.identity.models import User
from domain.identity.ports import UserRepository

BATCH = 64  # memories per store_many call (one embedding batch)
Progress = Callable[[str, int, int], None]  # (phase, done, total)


class RunMemoryEval:
    def __init__(self, memory: LongTermMemory, users: UserRepository) -> None:
        self._memory = memory
        self._users = users

    async def execute(
        self,
        data: RetrievalSet,
        modes: Sequence[Mode],
        *,
        k: int = 10,
        threshold: float | None = None,
        progress: Progress | None = None,
    ) -> list[EvalRun]:
        depth = max(k, 10)
        ranked: dict[Mode, list[tuple[str, list[str], frozenset[str], float]]] = {
            m: [] for m in modes
        }
        total = sum(len(u.memories) for u in data.users)
        stored = 0
        for set_user in data.users:
            tag = secrets.token_hex(6)
            user = User(f"eval-{tag}", f"eval-{tag}@eval.invalid", UNUSABLE_PASSWORD)
            await self._users.add(user)
            try:
                keys = await self._ingest(user.id, set_user, stored, total, progress)
                stored += len(set_user.memories)
                for mode in modes:
                    for question in set_user.questions:
                        started = time.perf_counter()
                        found = await self._memory.retrieve(
                            user.id, question.text, depth, mode=mode
                        )
                        took = time.perf_counter() - started
                        ids = [keys.get(item.memory.id, "?") for item in found.items]
                        ranked[mode].append((question.text, ids, question.evidence, took))
                    if progress is not None:
                        progress(f"searched ({mode})", len(ranked[mode]), 0)
            finally:
                await remove_user(user.id, self._users, self._memory)
        return [self._run(data, mode, rows, k, threshold) for mode, rows in ranked.items()]

    async def _ingest(
        self, user_id: UUID, set_user: SetUser, done: int, total: int, progress: Progress | None
    ) -> dict[UUID, str]:
        keys: dict[UUID, str] = {}
        items = set_user.memories
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            stored = await self._memory.store_many(
                user_id, [NewMemory(m.content, metadata=m.metadata) for m in batch]
            )
            keys.update({s.id: m.key for s, m in zip(stored, batch, strict=True)})
            if progress is not None:
                progress("ingesting", done + start + len(batch), total)
        return keys

    @staticmethod
    def _run(
        data: RetrievalSet,
        mode: Mode,
        rows: list[tuple[str, list[str], frozenset[str], float]],
        k: int,
        threshold: float | None,
    ) -> EvalRun:
        cases = []
        r5, r10, rr, ndcg, took = [], [], [], [], []
        for text, ids, evidence, seconds in rows:
            e = set(evidence)
            scores = {
                "recall@5": recall_at(ids, e, 5),
                "recall@10": recall_at(ids, e, 10),
                "rr": reciprocal_rank(ids[:k], e),
                "ndcg@10": ndcg_at(ids, e, 10),
            }
            r5.append(scores["recall@5"])
            r10.append(scores["recall@10"])
            rr.append(scores["rr"])
            ndcg.append(scores["ndcg@10"])
            took.append(seconds)
            cases.append(CaseScore(text[:200], scores["recall@10"], seconds, scores=scores))
        return EvalRun(
            EvalKind.MEMORY,
            data.name,
            mode,
            average(r10),
            cases=cases,
            metrics={
                "recall@5": average(r5),
                "recall@10": average(r10),
                "mrr": average(rr),
                "ndcg@10": average(ndcg),
                "search_p50_ms": percentile(took, 50) * 1000,
                "search_p95_ms": percentile(took, 95) * 1000,
                "questions": float(len(rows)),
                "memories": float(sum(len(u.memories) for u in data.users)),
            },
            threshold=threshold,
            details={"k": k, "skipped_questions": data.skipped, "users": len(data.users)},
        )
