"""The Jinja2 environment prompts render in: immutable sandbox, strict undefined, bounded.

Templates come only from prompt files; whatever a user sends is a variable *value*, and a
value is data: `{{ 7*7 }}` inside one is printed as-is, never evaluated. On top of Jinja's
sandbox (no `__class__`/`__mro__`, `str.format` field lookups checked) this bounds what a
template can allocate or spin on: `range` and every loop draw on one iteration budget per
render, `*`, `+`, `~`, `%`, `**`, growth filters and string methods are checked against the
output cap *before* they run, and the output is cut off at the cap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import StrictUndefined, Template, meta, nodes, pass_context
from jinja2.filters import make_attrgetter
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

from application.prompts import limits
from application.prompts.allowlist import SAFE_FILTERS, SAFE_METHODS
from application.prompts.limits import LimitExceeded

MAX_RANGE = 10_000
MAX_LOOP_ITERATIONS = 50_000
LOOP_FILTER = "mai_loop_budget"
CAP_FILTER = "mai_size_cap"


class _Bound(NodeTransformer):
    """Route every loop through the iteration budget and every `~` through the size cap."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802  (visitor protocol)
        self.generic_visit(node)
        node.iter = _filter(node.iter, LOOP_FILTER, node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        return _filter(node, CAP_FILTER, node.lineno)


def _filter(node: Any, name: str, lineno: int) -> nodes.Filter:
    wrapped = nodes.Filter(node, name, [], [], None, None)
    wrapped.set_lineno(lineno)
    return wrapped


class PromptSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "+", "%", "**"})

    def __init__(self, max_output_chars: int = 100_000) -> None:
        super().__init__(
            undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
        )
        self.max_output_chars = max_output_chars
        cap = max_output_chars
        builtin = self.filters
        self.filters = {name: _guarded(builtin[name], cap) for name in SAFE_FILTERS}
        self.filters.update(
            join=_join(cap),
            replace=_replace(cap),
            indent=_indent(builtin["indent"], cap),
            format=_printf(builtin["format"], cap),
            tojson=_tojson(builtin["tojson"]),
        )
        self.filters[LOOP_FILTER] = _loop_budget
        self.filters[CAP_FILTER] = pass_context(lambda _ctx, v: _capped(v, cap, "a ~ join"))
        self.globals.clear()
        self.globals.update(range=self._range, dict=dict, namespace=Namespace)

    # --- what a template may do -----------------------------------------------------------
    def _range(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise LimitExceeded(f"range of {len(numbers):,} items (the limit is {MAX_RANGE:,})")
        return numbers

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        cap = self.max_output_chars
        size = limits.binop_size(operator, left, right)
        if size is not None:
            limits.check_size(size, cap, f"the result of {operator!r}")
        if operator == "%" and isinstance(left, str):
            limits.check_printf(left, cap)
            return _capped(left % right, cap, "a % format")
        if operator == "**":
            limits.check_power(left, right)
        return super().call_binop(context, operator, left, right)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        cap = self.max_output_chars
        limits.check_ints([*args, *kwargs.values()], cap)
        owner: Any = getattr(obj, "__self__", None)
        if isinstance(owner, type):  # a classmethod such as dict.fromkeys: builds from nothing
            raise LimitExceeded(f"{owner.__name__}.{getattr(obj, '__name__', '')}() is not allowed")
        allowed = next((m for t, m in SAFE_METHODS.items() if isinstance(owner, t)), None)
        name = getattr(obj, "__name__", "")
        if allowed is not None:
            if name not in allowed:
                raise LimitExceeded(f"{type(owner).__name__}.{name}() is not allowed in prompts")
            if name == "join" and len(args) == 1 and not kwargs:
                items = list(args[0])
                if all(isinstance(i, str) for i in items):
                    return _join_checked(owner, items, cap)
                args = (items,)
            if name == "replace" and len(args) >= 2:
                count = args[2] if len(args) > 2 else -1
                size = limits.replaced_size(owner, str(args[0]), str(args[1]), count)
                limits.check_size(size, cap, "a replace()")
        return super().call(context, obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        limits.check_format_spec(value.__self__, self.max_output_chars)
        cap = self.max_output_chars

        def capped(*args: Any, **kwargs: Any) -> str:
            return str(_capped(wrapped(*args, **kwargs), cap, "a format()"))

        return capped

    # --- compiling and rendering ------------------------------------------------------------
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        bounded = _Bound().visit(tree)
        bounded.set_environment(self)
        return bounded  # type: ignore[no-any-return]

    def undeclared(self, source: str) -> set[str]:
        """The names a template reads that it does not set itself (besides our globals)."""
        return set(meta.find_undeclared_variables(self.parse(source))) - set(self.globals)

    def render_capped(self, template: Template, values: dict[str, Any]) -> str:
        """Render with a fresh loop budget, stopping as soon as the output passes the cap."""
        token = limits.CURRENT_BUDGET.set(limits.Budget(MAX_LOOP_ITERATIONS))
        try:
            parts: list[str] = []
            total = 0
            for chunk in template.generate(values):
                total += len(chunk)
                limits.check_size(total, self.max_output_chars, "the rendered prompt")
                parts.append(chunk)
            return "".join(parts)
        finally:
            limits.CURRENT_BUDGET.reset(token)


# --- filters ---------------------------------------------------------------------------------


@pass_context
def _loop_budget(_context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    spend = limits.budget().spend
    for item in iterable:
        spend()
        yield item


def _capped(value: Any, cap: int, what: str) -> Any:
    if isinstance(value, str):
        limits.check_size(len(value), cap, what)
    return value


def _guarded(fn: Callable[..., Any], cap: int) -> Callable[..., Any]:
    """A built-in filter whose integer arguments (widths, counts) are bounded by the cap."""

    skip = 2 if getattr(fn, "jinja_pass_arg", None) else 1  # (context,) value, then arguments

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        limits.check_ints([*args[skip:], *kwargs.values()], cap)
        return fn(*args, **kwargs)

    return guarded


def _join_checked(separator: str, items: Iterable[Any], cap: int) -> str:
    texts = [str(i) for i in items]
    size = sum(map(len, texts)) + len(separator) * max(len(texts) - 1, 0)
    limits.check_size(size, cap, "a join")
    return separator.join(texts)


def _join(cap: int) -> Callable[..., str]:
    @pass_context
    def join(context: Context, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
        if attribute is not None:
            value = map(make_attrgetter(context.environment, attribute), value)
        return _join_checked(str(d), value, cap)

    return join


def _replace(cap: int) -> Callable[..., str]:
    def replace(value: Any, old: Any, new: Any, count: int | None = None) -> str:
        text, old_s, new_s = str(value), str(old), str(new)
        n = -1 if count is None else count
        limits.check_size(limits.replaced_size(text, old_s, new_s, n), cap, "a replace")
        return text.replace(old_s, new_s, n)

    return replace


def _indent(fn: Callable[..., str], cap: int) -> Callable[..., str]:
    def indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> str:
        text = str(value)
        pad = width if isinstance(width, str) else " " * min(max(int(width), 0), cap + 1)
        limits.check_size(len(text) + len(pad) * (text.count("\n") + 1), cap, "an indent")
        return fn(text, width, *args, **kwargs)

    return indent


def _printf(fn: Callable[..., str], cap: int) -> Callable[..., str]:
    def format_(value: Any, *args: Any, **kwargs: Any) -> str:
        limits.check_printf(str(value), cap)
        return str(_capped(fn(value, *args, **kwargs), cap, "a format"))

    return format_


def _tojson(fn: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(fn)
    def tojson(*args: Any, indent: int | None = None) -> str:
        if indent is not None and not 0 <= indent <= 8:
            raise LimitExceeded("tojson indent must be between 0 and 8")
        return fn(*args, indent=indent)

    return tojson
