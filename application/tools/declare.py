"""`@tool`: declare a typed function as a tool, once.

Parameters are validated by Pydantic AI from the signature (the same types make the JSON
schema the model sees); the return value is validated against the return annotation, so a
tool that breaks its own contract fails loudly instead of feeding the model garbage.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from pydantic import TypeAdapter, ValidationError
from pydantic_ai.exceptions import ToolFailed

F = TypeVar("F", bound=Callable[..., Any])
SPEC_ATTR = "__mai_tool__"


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What `@tool` records on a function; the registry turns it into `ToolMetadata`."""

    name: str
    description: str | None
    category: str
    version: str
    requires_approval: bool
    tags: tuple[str, ...]
    sensitive: bool
    user_scoped: bool
    enabled: bool


@overload
def tool(func: F, /) -> F: ...


@overload
def tool(
    func: None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    category: str = "general",
    version: str = "1.0.0",
    requires_approval: bool = False,
    tags: tuple[str, ...] = (),
    sensitive: bool = False,
    user_scoped: bool = False,
    enabled: bool = True,
) -> Callable[[F], F]: ...


def tool(
    func: F | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    category: str = "general",
    version: str = "1.0.0",
    requires_approval: bool = False,
    tags: tuple[str, ...] = (),
    sensitive: bool = False,
    user_scoped: bool = False,
    enabled: bool = True,
) -> F | Callable[[F], F]:
    """Mark a (sync or async) function as a tool. Use bare (`@tool`) or with options.

    `description` defaults to the docstring; `sensitive` keeps arguments out of logs;
    `user_scoped` puts the user in cache keys; `enabled` is the default switch position.
    """

    def decorate(fn: F) -> F:
        spec = ToolSpec(
            name=name or fn.__name__,
            description=description,
            category=category,
            version=version,
            requires_approval=requires_approval,
            tags=tuple(tags),
            sensitive=sensitive,
            user_scoped=user_scoped,
            enabled=enabled,
        )
        checked = _returns_checked(fn, spec.name)
        setattr(checked, SPEC_ATTR, spec)
        return checked

    return decorate(func) if func is not None else decorate


def spec_of(fn: Callable[..., Any]) -> ToolSpec | None:
    spec = getattr(fn, SPEC_ATTR, None)
    return spec if isinstance(spec, ToolSpec) else None


def _returns_checked(fn: F, name: str) -> F:
    """Wrap `fn` so its result is validated against its return annotation (if any)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    if "return" not in hints or hints["return"] in (Any, type(None)):
        return fn
    adapter: TypeAdapter[Any] = TypeAdapter(hints["return"])

    def check(value: Any) -> Any:
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise ToolFailed(
                f"TOOL_FAILED: {name} returned a value that does not match its declared "
                f"type ({exc.error_count()} problem(s))."
            ) from exc

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_checked(*args: Any, **kwargs: Any) -> Any:
            return check(await fn(*args, **kwargs))

        return typing.cast(F, async_checked)

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        return check(fn(*args, **kwargs))

    return typing.cast(F, checked)
