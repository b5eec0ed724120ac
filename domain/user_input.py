"""Input no store can keep, refused at the edge as a validation error (never a 500 later).

JSON can carry what our stores cannot: a lone UTF-16 surrogate (`"\\ud800"` decodes to a
Python str that cannot be encoded as UTF-8: SQLite, hashing and every response encoder
fail on it), a NUL (PostgreSQL text and JSONB cannot hold one), and objects nested so
deep that serializing them back overflows (a stored memory with 300 levels of metadata
made every later listing of the user's memories fail). REST models and GraphQL arguments
run user values through `check_text` / `check_value`.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32  # levels of nested objects/arrays in a user-supplied JSON value


def check_text(value: str) -> str:
    """`value`, or ValueError when it holds a NUL or a lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def check_value(value: Any, depth: int = 0) -> Any:
    """`value` (any JSON value), or ValueError when it nests deeper than MAX_DEPTH or any
    key or string in it fails `check_text`."""
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, dict | list | tuple):
        if depth >= MAX_DEPTH:
            raise ValueError(f"must not nest deeper than {MAX_DEPTH} levels")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                check_text(key)
            check_value(item, depth + 1)
    return value
