"""`Cache` in process: the embedded profile's cache and the tests' fake.

Same behaviour as `RedisCache` (the contract suite runs on both): entries expire after
their TTL on a monotonic clock (injectable, so tests move time instead of sleeping),
`delete_prefix` takes the prefix literally, an empty key is refused as Redis keys refuse
it. Bounded: at most `max_entries`, the least recently used evicted first, so a
long-running embedded server cannot grow without limit.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Entry:
    value: str
    expires_at: float | None  # on the clock; None: never


class InProcessCache:
    """A dict with expiry and LRU eviction.

    Safe under asyncio without a lock: every method does its work synchronously (no
    `await` inside), so no other task can run half-way through an operation. Not
    thread-safe; one instance belongs to one event loop.
    """

    def __init__(
        self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()  # least recently used first
        self._clock = clock

    async def get(self, key: str) -> str | None:
        _check_key(key)
        entry = self._live(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry.value

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        _check_key(key)
        now = self._clock()
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive")
        self._entries[key] = _Entry(value, None if ttl is None else now + ttl)
        self._entries.move_to_end(key)
        self._evict(now)

    async def delete(self, key: str) -> None:
        _check_key(key)
        self._entries.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        """Drop every key starting with `prefix`; expired ones go too, uncounted."""
        now = self._clock()
        doomed = [k for k in self._entries if k.startswith(prefix)]
        removed = 0
        for k in doomed:
            entry = self._entries.pop(k)
            removed += not _expired(entry, now)
        return removed

    # --- inspection (not part of the port) ---------------------------------------------

    def keys(self) -> list[str]:
        """The live keys, least recently used first (does not change the order)."""
        now = self._clock()
        return [k for k, entry in self._entries.items() if not _expired(entry, now)]

    def __len__(self) -> int:
        """How many live entries there are."""
        return len(self.keys())

    # --- internals ---------------------------------------------------------------------

    def _live(self, key: str) -> _Entry | None:
        """The entry if it has not expired; an expired one is removed."""
        entry = self._entries.get(key)
        if entry is not None and _expired(entry, self._clock()):
            del self._entries[key]
            return None
        return entry

    def _evict(self, now: float) -> None:
        """Drop expired entries at the cold end, then the least recently used beyond
        `max_entries` (O(1) amortised: no full sweep on the write path)."""
        while self._entries and _expired(next(iter(self._entries.values())), now):
            self._entries.popitem(last=False)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


def _expired(entry: _Entry, now: float) -> bool:
    return entry.expires_at is not None and entry.expires_at <= now


def _check_key(key: str) -> None:
    if not key:
        raise ValueError("cache keys cannot be empty")
