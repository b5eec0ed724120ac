"""Test doubles for prompts: a dict-backed `Cache` with inspectable state (the clock is
`tests.fakes.clock.FakeClock`)."""

from __future__ import annotations

from pathlib import Path

from domain.errors import CacheUnavailable

PROMPT_FIXTURES = Path(__file__).parent / "fixtures" / "prompts"


class DictCache:
    """The `Cache` port on a dict; `down` makes every call raise CacheUnavailable."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}
        self.ttls: dict[str, float | None] = {}
        self.calls: list[tuple[str, str]] = []
        self.down = False

    def _call(self, op: str, key: str) -> None:
        self.calls.append((op, key))
        if self.down:
            raise CacheUnavailable("cache down")

    async def get(self, key: str) -> str | None:
        self._call("get", key)
        return self.entries.get(key)

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        self._call("set", key)
        self.entries[key] = value
        self.ttls[key] = ttl

    async def delete(self, key: str) -> None:
        self._call("delete", key)
        self.entries.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        self._call("delete_prefix", prefix)
        gone = [k for k in self.entries if k.startswith(prefix)]
        for k in gone:
            del self.entries[k]
        return len(gone)
