"""What long-term memory's use-cases take and give: a new memory, an edit, a retrieval."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from domain.errors import ValidationFailed
from domain.memory.long_term import MemoryKind, MemorySource, ScoredMemory
from domain.user_input import check_value

Mode = Literal["dense", "lexical", "hybrid"]


@dataclass(frozen=True, slots=True)
class NewMemory:
    content: str
    kind: MemoryKind = MemoryKind.EPISODIC
    importance: float | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    source_conversation_id: UUID | None = None
    source_message_id: UUID | None = None
    source: MemorySource = MemorySource.USER


@dataclass(frozen=True, slots=True)
class MemoryEdit:
    """A correction: the fields given replace the memory's (metadata as a whole)."""

    content: str | None = None
    metadata: dict[str, Any] | None = None
    importance: float | None = None


@dataclass(frozen=True, slots=True)
class Retrieval:
    items: list[ScoredMemory]
    mode: Mode
    degraded: bool = False  # True when the vector index was unavailable (lexical only)


def check_storable(item: NewMemory) -> None:
    """Text no store can keep (NUL, lone surrogates) and metadata nested too deep are
    refused before anything is written, whichever way the memory came in."""
    for name, value in (("content", item.content), ("metadata", item.metadata)):
        try:
            check_value(value)
        except ValueError as exc:
            raise ValidationFailed(f"Memory {name} {exc}.", details={"field": name}) from None
