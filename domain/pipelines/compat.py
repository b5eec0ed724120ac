"""Whether a value of one declared type can feed a stage that declares another.

Judged only where it can be: both sides declared as classes, generics or unions of them
(`str` into `int`, `list[str]` into `dict[str, int]` and `str | None` into `str` are
refused). Anything it cannot judge (`Any`, a TypeVar, `Literal`, `NewType`, protocols
with no runtime shape) passes, so validation never refuses a pipeline merely for using
a type it does not understand. Generic arguments are compared covariantly.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Union, get_args, get_origin
from typing import is_typeddict as _is_typing_typeddict

__all__ = ["accepts", "accepts_mapping", "type_name"]

_UNDECLARED: tuple[Any, ...] = (None, Any, object)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _strip(tp: Any) -> Any:
    """`Annotated[T, ...]` is T for this purpose."""
    return get_args(tp)[0] if get_origin(tp) is typing.Annotated else tp


def is_typeddict(tp: Any) -> bool:
    """A TypedDict from `typing` or `typing_extensions` (pydantic needs the latter on
    Python < 3.12; both carry `__required_keys__`)."""
    return _is_typing_typeddict(tp) or (
        isinstance(tp, type)
        and issubclass(type(tp), type)
        and hasattr(tp, "__required_keys__")
        and hasattr(tp, "__total__")
    )


def accepts(expected: Any, produced: Any) -> bool:
    """False when some `produced` value would not be an `expected` one."""
    expected, produced = _strip(expected), _strip(produced)
    if expected in _UNDECLARED or produced in _UNDECLARED:
        return True
    if _is_union(produced):
        return all(accepts(expected, member) for member in get_args(produced))
    if _is_union(expected):
        return any(accepts(member, produced) for member in get_args(expected))
    want, have = get_origin(expected) or expected, get_origin(produced) or produced
    if not (isinstance(want, type) and isinstance(have, type)):
        return True  # Literal, NewType, TypeVar, forward references: not judged
    if is_typeddict(want):
        return issubclass(have, Mapping)
    if not (issubclass(have, want) or (want is float and have is int)):
        return False
    want_args, have_args = get_args(expected), get_args(produced)
    if not want_args or not have_args or len(want_args) != len(have_args):
        return True
    return all(
        w is Ellipsis or h is Ellipsis or accepts(w, h)
        for w, h in zip(want_args, have_args, strict=True)
    )


def accepts_mapping(expected: Any, produced: Mapping[str, Any]) -> list[str]:
    """The keys of `produced` (dependency name → output type) that a stage declaring
    `expected` as its input cannot take; empty when all fit.

    A stage with several dependencies receives a dict of their outputs, so its declared
    input must be a mapping: `dict`, `Mapping[str, V]` (each output must be a V) or a
    TypedDict (each dependency must be a key and its output fit the key's type).
    """
    expected = _strip(expected)
    if expected in _UNDECLARED:
        return []
    origin = get_origin(expected) or expected
    if is_typeddict(origin):
        hints = typing.get_type_hints(origin)
        return [k for k, tp in produced.items() if k not in hints or not accepts(hints[k], tp)]
    if not (isinstance(origin, type) and issubclass(dict, origin)):
        return list(produced)  # not something a dict can be
    args = get_args(expected)
    value_type = args[1] if len(args) == 2 else None
    return [k for k, tp in produced.items() if not accepts(value_type, tp)]


def type_name(tp: Any) -> str | None:
    """A short, stable name for a declared type (None when undeclared)."""
    if tp is None:
        return None
    if isinstance(tp, type) and not get_args(tp):
        return tp.__qualname__
    return repr(tp).replace("typing.", "").replace("collections.abc.", "")
