"""What a memory search may be narrowed to: one typed value, translated once per backend.

The API accepts one filter, the memory's kind (REST `GET /memories/search?kind=`, GraphQL
`memories(query:, kind:)`). Filters used to be a dict that each backend read its own way —
the SQL stores ignored keys they did not know, pgvector matched them against `metadata`,
the Qdrant indexes against payload fields nobody stored — so one request could narrow the
dense side and not the lexical one. Now every backend has one function turning a
`MemoryFilter` into its own query (a SQL condition, Qdrant field conditions, a numpy mask,
a predicate), and the contract suite checks that they all agree.

The owner is never part of a filter: every search takes the user as an argument of its own,
so no filter can widen or confuse the per-user scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.memory.long_term import Memory, MemoryKind

#: The payload field a vector index stores a memory's kind under (and matches exactly).
KIND_FIELD = "kind"


@dataclass(frozen=True, slots=True)
class MemoryFilter:
    """Only memories that have every field that is set here (unset: any)."""

    kind: MemoryKind | None = None

    def matches(self, memory: Memory) -> bool:
        return self.kind is None or memory.kind is self.kind

    def payload(self) -> dict[str, str]:
        """The exact payload values a vector index must match (`index_payload` writes them)."""
        return {} if self.kind is None else {KIND_FIELD: self.kind.value}


#: No narrowing: every memory of the user.
ANY_MEMORY = MemoryFilter()


def index_payload(memory: Memory) -> dict[str, str]:
    """What a vector index stores beside a memory's vector: every field a filter can match."""
    return MemoryFilter(kind=memory.kind).payload()
