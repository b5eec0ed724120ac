"""What a pipeline is made of: stages, their retry policy and what each run hands them.

A stage is a named async step with declared dependencies. It receives the pipeline's input
(no dependency), its one dependency's output, or a dict of its dependencies' outputs by
name (several). Its `input_type` / `output_type` (class attributes, or inferred from
`PipelineStage[In, Out]` / a function's annotations) let `Pipeline` check connections
before anything runs; undeclared types are not checked.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin
from uuid import UUID

__all__ = ["FunctionStage", "PipelineStage", "RetryPolicy", "StageContext"]

InT = TypeVar("InT")
OutT = TypeVar("OutT")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a stage is retried under the `retry` error strategy: up to `attempts` tries,
    waiting `backoff` seconds after the first failure, then `multiplier` times longer
    after each next one, never more than `max_backoff`."""

    attempts: int = 3
    backoff: float = 0.5
    multiplier: float = 2.0
    max_backoff: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("backoff and max_backoff must be >= 0, multiplier >= 1")

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failed attempt (1-based)."""
        return float(min(self.max_backoff, self.backoff * self.multiplier ** (failures - 1)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class StageContext:
    """Who and what a stage attempt runs for: enough for logs, tracing and ownership."""

    run_id: UUID
    user_id: UUID
    pipeline: str
    stage: str
    attempt: int = 1


class PipelineStage(ABC, Generic[InT, OutT]):
    """One step of a pipeline. Subclass it and set the attributes as class attributes
    (or in `__init__`); `FunctionStage` wraps a plain callable instead.

    `version` goes into cache keys: bump it when the stage's logic changes so cached
    outputs of the old logic are not reused. A `cacheable` stage's output must be
    JSON-serialisable by pydantic (a `TypeAdapter` of its `output_type`, or of `Any`).
    """

    name: str
    depends_on: tuple[str, ...] = ()
    input_type: Any = None  # None: undeclared, not checked
    output_type: Any = None
    retry: RetryPolicy = RetryPolicy()
    timeout: float | None = None  # seconds per attempt; None: no limit
    cacheable: bool = False
    version: str = "1"

    _generic_types: ClassVar[tuple[Any, Any]] = (None, None)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """`class Draft(PipelineStage[list[str], str])` declares its types by itself."""
        super().__init_subclass__(**kwargs)
        for base in cls.__dict__.get("__orig_bases__", ()):
            origin = get_origin(base)
            if isinstance(origin, type) and issubclass(origin, PipelineStage):
                args = tuple(
                    None if isinstance(a, TypeVar) or a is Any else a for a in get_args(base)
                )
                if len(args) == 2:
                    if "input_type" not in cls.__dict__:
                        cls.input_type = args[0]
                    if "output_type" not in cls.__dict__:
                        cls.output_type = args[1]

    @abstractmethod
    async def run(self, input: InT, context: StageContext) -> OutT:
        """Compute this stage's output; raise to fail (the strategy decides what next)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={getattr(self, 'name', None)!r})"


class FunctionStage(PipelineStage[Any, Any]):
    """A stage around a callable, so a pipeline can be written as plain functions.

    `fn(input)` or `fn(input, context)` (two positional parameters get the context),
    sync or async. A sync callable runs in a worker thread so it does not stall the other
    stages; a timed-out thread cannot be killed and finishes in the background.
    Types not given are inferred from `fn`'s annotations (first parameter, return).
    """

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        *,
        depends_on: tuple[str, ...] | list[str] = (),
        input_type: Any = None,
        output_type: Any = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        cacheable: bool = False,
        version: str = "1",
    ) -> None:
        self.name = name
        self.fn = fn
        self.depends_on = tuple(depends_on)
        hinted_in, hinted_out = _annotated_types(fn)
        self.input_type = input_type if input_type is not None else hinted_in
        self.output_type = output_type if output_type is not None else hinted_out
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.cacheable = cacheable
        self.version = version
        self._takes_context = _positional_count(fn) >= 2
        self._is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004  (an async __call__ on an instance)
        )

    async def run(self, input: Any, context: StageContext) -> Any:
        args = (input, context) if self._takes_context else (input,)
        if self._is_async:
            return await self.fn(*args)
        result = await asyncio.to_thread(self.fn, *args)
        return await result if inspect.isawaitable(result) else result


def _positional_count(fn: Callable[..., Any]) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds)


def _annotated_types(fn: Callable[..., Any]) -> tuple[Any, Any]:
    """(first parameter's type, return type) from annotations; None where absent or
    unresolvable (e.g. names local to a function under `from __future__ import annotations`)."""
    try:
        hints = typing.get_type_hints(fn)
        first = next(iter(inspect.signature(fn).parameters), None)
    except Exception:  # any failure to resolve just means "undeclared"
        return None, None
    input_type = hints.get(first) if first is not None else None
    output_type = hints.get("return")
    return (None if input_type is Any else input_type), (
        None if output_type is Any else output_type
    )
