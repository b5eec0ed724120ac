"""Redis key names: one namespace, one prefix per kind of data.

`MAI:cache:…` holds computed values any instance may drop, `MAI:session:…` per-user or
per-conversation state with a TTL (e.g. conversation windows), `MAI:ratelimit:…`
counters. A fixed prefix per kind makes it possible to inspect, size and flush each
kind (`SCAN MATCH MAI:cache:*`) without touching the others.
"""

from __future__ import annotations

from enum import StrEnum

NAMESPACE = "MAI"


class KeyKind(StrEnum):
    CACHE = "cache"
    SESSION = "session"
    RATELIMIT = "ratelimit"
    EVENTS = "events"  # pub/sub channels


def make_key(kind: KeyKind | str, *parts: object, namespace: str = NAMESPACE) -> str:
    """`MAI:<kind>:<part>:<part>…`; `kind` must be a `KeyKind` (a typo would scatter keys)."""
    try:
        kind = KeyKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in KeyKind)
        raise ValueError(f"unknown key kind {kind!r}: use one of {known}") from None
    if not parts:
        raise ValueError("a key needs at least one part after its kind")
    text = [str(part) for part in parts]
    if any(not part for part in text):
        raise ValueError("key parts cannot be empty")
    return ":".join((namespace, kind.value, *text))
