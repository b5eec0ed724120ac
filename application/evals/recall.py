"""What an eval case's turns recalled from long-term memory.

The chat turn takes its memory through a callable; an eval hands it this recorder's
`current`, which gives the real `LongTermMemory` behind a thin proxy noting what each
`retrieve` returned. Only the public `retrieve` is intercepted; everything else is the
use-case itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from application.memory import LongTermMemory, Retrieval


class _Recording:
    def __init__(self, inner: LongTermMemory, recorder: RecallRecorder) -> None:
        self._inner = inner
        self._recorder = recorder

    async def retrieve(self, *args: Any, **kwargs: Any) -> Retrieval:
        found = await self._inner.retrieve(*args, **kwargs)
        self._recorder.recalled.extend(item.memory.content for item in found.items)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class RecallRecorder:
    def __init__(self, memory: Callable[[], LongTermMemory | None]) -> None:
        self._memory = memory
        self.recalled: list[str] = []

    def current(self) -> LongTermMemory | None:
        inner = self._memory()
        return None if inner is None else cast(LongTermMemory, _Recording(inner, self))

    def reset(self) -> None:
        self.recalled = []
