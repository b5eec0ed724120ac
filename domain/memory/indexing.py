"""What a memory is found by: its content, the turn before it, and the dates it carries.

Measured on LoCoMo's development conversations (BENCHMARKS.md, "Memory retrieval quality"):
a chat turn alone is often unfindable ("Wow, that's great!" answers the question "what did
Caroline adopt?" only with the turn before it), so a memory that belongs to a thread — the
same `session` / `conversation_id` / `thread` in its metadata, or the same source
conversation — is indexed for full-text search together with the memory stored just before
it in that thread. Dates in metadata (`date`, `timestamp`, …) are indexed as words, so "in
May 2023" finds them. The vector index embeds the content alone (fusion gains more from two
sides that see different things). The content users read and edit is never changed.

Queries are cut to their content words: stop words ("when", "did", "the") match almost
every memory and only dilute the lexical ranking.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from uuid import UUID

#: Metadata keys that name the thread (conversation, session) a memory was said in.
THREAD_KEYS = ("session", "session_id", "conversation_id", "thread", "thread_id")
#: Metadata keys whose values are dates worth finding by their words.
DATE_KEYS = ("date", "session_date", "timestamp", "time", "when")
MAX_CONTEXT_CHARS = 1_000
MAX_QUERY_TERMS = 32
WORD = re.compile(r"\w+", re.UNICODE)

_STOP = """a about above after again against all am an and any are as at be been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves s t d ll m re ve don
didn doesn isn wasn weren"""
STOP_WORDS = frozenset(_STOP.split())


def thread_of(metadata: Mapping[str, Any], source_conversation_id: UUID | None) -> str | None:
    """The thread a memory belongs to, or None (then it is indexed on its own)."""
    for key in THREAD_KEYS:
        value = metadata.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return f"{key}={value}"
    if source_conversation_id is not None:
        return f"conversation={source_conversation_id}"
    return None


def searchable_dates(metadata: Mapping[str, Any]) -> str:
    """The date-like metadata values, as text."""
    values = [metadata.get(key) for key in DATE_KEYS]
    return " ".join(str(v).strip() for v in values if isinstance(v, str | int) and str(v).strip())


def clip_context(text: str) -> str:
    """The neighbouring text kept as context: its end, where it leads into this memory."""
    text = text.strip()
    return text if len(text) <= MAX_CONTEXT_CHARS else text[-MAX_CONTEXT_CHARS:]


def index_text(content: str, context: str, metadata: Mapping[str, Any]) -> str:
    """What the full-text index sees for one memory."""
    dates = searchable_dates(metadata)
    parts = [f"{dates}." if dates else "", context.strip(), content.strip()]
    return "\n".join(p for p in parts if p)


def same_words(a: str, b: str, at_least: float = 0.8) -> bool:
    """True when two texts share nearly all their words (Jaccard of their lower-cased word
    sets ≥ `at_least`): with the vector's similarity, what makes a write a repeat. The
    vector alone is not enough: consecutive turns of a thread are indexed with each other's
    text and date, so their vectors are close while what they say differs."""
    left, right = set(WORD.findall(a.lower())), set(WORD.findall(b.lower()))
    if not left or not right:
        return False
    return len(left & right) / len(left | right) >= at_least


def query_terms(query: str) -> list[str]:
    """The query's content words, lower-cased, in order, each once (all its words when
    it has nothing but stop words)."""
    words = [w.lower() for w in WORD.findall(query)]
    kept = [w for w in words if w not in STOP_WORDS] or words
    return list(dict.fromkeys(kept))[:MAX_QUERY_TERMS]
