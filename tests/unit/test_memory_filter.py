"""`MemoryFilter`: the one typed value every backend translates (contract suites check they
agree); here, what it admits and the payload it asks a vector index to match."""

from __future__ import annotations

from uuid import uuid4

from domain.memory.filters import ANY_MEMORY, MemoryFilter, index_payload
from domain.memory.long_term import Memory, MemoryKind


def test_a_filter_admits_what_it_names_and_nothing_else() -> None:
    fact = Memory(uuid4(), "Ada's cat is Miso", MemoryKind.FACT)
    episode = Memory(uuid4(), "We talked about cats", MemoryKind.EPISODIC)
    facts = MemoryFilter(kind=MemoryKind.FACT)
    assert facts.matches(fact) and not facts.matches(episode)
    assert ANY_MEMORY.matches(fact) and ANY_MEMORY.matches(episode)


def test_the_payload_a_filter_matches_is_the_one_stored_with_a_memory() -> None:
    fact = Memory(uuid4(), "Ada's cat is Miso", MemoryKind.FACT)
    assert MemoryFilter(kind=MemoryKind.FACT).payload() == index_payload(fact) == {"kind": "fact"}
    assert ANY_MEMORY.payload() == {}
    assert MemoryFilter() == ANY_MEMORY and hash(MemoryFilter()) == hash(ANY_MEMORY)  # a value
