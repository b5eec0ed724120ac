"""`PipelineRegistry`: the pipelines this process can run, by name.

A durable run is recorded by pipeline name, not by object: whichever worker picks it up
(or resumes it after a crash) rebuilds it from its name. Every process that runs
pipelines therefore registers the same pipelines under the same names at start-up, and a
run of a pipeline the registry does not know is refused before it is queued.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from domain.errors import Conflict, NotFound
from domain.pipelines.pipeline import Pipeline

__all__ = ["PipelineRegistry"]


class PipelineRegistry:
    def __init__(self, pipelines: Iterable[Pipeline[Any, Any]] = ()) -> None:
        self._by_name: dict[str, Pipeline[Any, Any]] = {}
        for pipeline in pipelines:
            self.register(pipeline)

    def register(self, pipeline: Pipeline[Any, Any]) -> Pipeline[Any, Any]:
        """Add `pipeline`; registering the same object twice is harmless, another pipeline
        under a taken name is a `Conflict` (two definitions would make recovery ambiguous)."""
        existing = self._by_name.get(pipeline.name)
        if existing is not None and existing is not pipeline:
            raise Conflict(
                f"A different pipeline named {pipeline.name!r} is already registered.",
                details={"pipeline": pipeline.name},
            )
        self._by_name[pipeline.name] = pipeline
        return pipeline

    def get(self, name: str) -> Pipeline[Any, Any]:
        try:
            return self._by_name[name]
        except KeyError:
            raise NotFound(
                f"No pipeline named {name!r} is registered.", details={"pipeline": name}
            ) from None

    def is_registered(self, pipeline: Pipeline[Any, Any]) -> bool:
        """True when `pipeline` itself (not merely its name) is the registered one."""
        return self._by_name.get(pipeline.name) is pipeline

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Pipeline[Any, Any]]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)
