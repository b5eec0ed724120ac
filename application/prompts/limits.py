"""Size checks the prompt sandbox runs *before* an operation allocates its result.

Jinja's sandbox stops attribute escapes but not resource exhaustion: `'a' * 10**9`,
`range(10**9)`, `'{:>999999999}'.format(x)` or a `join` of a long list with a long separator
all allocate gigabytes before anything could look at the output. Each check here estimates
the size of a result from its inputs and refuses it when it would pass the cap.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError

PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[a-zA-Z%]")


class LimitExceeded(SecurityError):
    """A render would pass one of the sandbox's limits."""


@dataclass
class Budget:
    """What one render may still spend: loop iterations across every loop, nested or not."""

    iterations: int

    def spend(self, n: int = 1) -> None:
        self.iterations -= n
        if self.iterations < 0:
            raise LimitExceeded("the template loops too many times")


CURRENT_BUDGET: ContextVar[Budget | None] = ContextVar("prompt_budget", default=None)


def budget() -> Budget:
    found = CURRENT_BUDGET.get()
    if found is None:  # outside `PromptSandbox.render`: nothing may loop unbounded either
        found = Budget(0)
    return found


def size_of(value: Any) -> int:
    """Characters a value takes once rendered (its text; a container's repr)."""
    return len(value) if isinstance(value, str) else len(repr(value))


def check_size(size: int, cap: int, what: str) -> None:
    if size > cap:
        raise LimitExceeded(f"{what} would be {size:,} characters (the limit is {cap:,})")


def check_ints(args: Iterable[Any], cap: int) -> None:
    """No call or filter argument may be an integer above the cap (widths, counts, sizes)."""
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > cap:
            raise LimitExceeded(f"the argument {arg} is over the limit of {cap:,}")


def check_printf(fmt: str, cap: int) -> None:
    """`'%999999999s' % x` pads to a gigabyte: refuse widths over the cap and `*` widths."""
    for width, precision in PRINTF_SPEC.findall(fmt):
        for part in (width, precision):
            if part == "*" or (part and int(part) > cap):
                raise LimitExceeded(f"the format width {part!r} is over the limit")


def check_format_spec(fmt: str, cap: int) -> None:
    """The same for `str.format` specs; nested replacement fields in a spec are refused."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise LimitExceeded(f"bad format string: {exc}") from None
    for _literal, _field, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise LimitExceeded("nested fields in a format spec are not allowed")
        for number in re.findall(r"\d+", spec):
            if int(number) > cap:
                raise LimitExceeded(f"the format width {number} is over the limit")


def replaced_size(text: str, old: str, new: str, count: int = -1) -> int:
    hits = len(text) + 1 if old == "" else text.count(old)
    if count >= 0:
        hits = min(hits, count)
    return len(text) + hits * (len(new) - len(old))


def binop_size(operator: str, left: Any, right: Any) -> int | None:
    """The size `left <operator> right` would have, for the operators that can grow."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(times, int):
                return size_of(seq) * max(times, 0)
        return None
    if operator == "+" and isinstance(left, str | list | tuple):
        return size_of(left) + size_of(right)
    return None


def check_power(left: Any, right: Any, max_bits: int = 4096) -> None:
    """`10**10**10` would run for ever: bound the size of an integer power."""
    if not (isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1):
        return
    if right * abs(left).bit_length() > max_bits:
        raise LimitExceeded(f"{left} ** {right} is too large")
