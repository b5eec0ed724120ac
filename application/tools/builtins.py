"""Built-in tools: useful, safe, and registered in every registry.

`current_time` and `calculator` need nothing; `recall_memory` and `remember` reach the
user's long-term memory through `RunContext.deps`; `http_get` exists only when settings
list the hosts it may fetch (`make_http_get`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from pydantic_ai import ModelRetry, RunContext

from application.agents.runner import AgentDeps
from application.memory import NewMemory
from application.tools.declare import tool
from application.tools.guards import with_cache, with_rate_limit, with_timeout
from domain.memory.long_term import MemoryKind, MemorySource
from domain.tools.arithmetic import InvalidExpression, evaluate
from domain.tools.web import WebFetcher, host_allowed


@tool(category="time", version="1.1.0")
def current_time(timezone: str = "UTC") -> str:
    """The current date and time in an IANA timezone, e.g. "Europe/Paris", as ISO 8601
    (with the weekday)."""
    try:
        zone = UTC if timezone.upper() == "UTC" else ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ModelRetry(
            f"Unknown timezone {timezone!r}; use an IANA name like 'Europe/Paris'."
        ) from None
    now = datetime.now(zone)
    return f"{now.isoformat(timespec='seconds')} ({now.strftime('%A')})"


@tool(category="math")
def calculator(expression: str) -> float | int:
    """Evaluate an arithmetic expression exactly, e.g. "(17 * 3) / 4 + sqrt(2)".
    Supports + - * / // % **, parentheses, sqrt, sin, cos, tan, log, log10, exp, abs,
    round, min, max, floor, ceil, pi and e."""
    try:
        return evaluate(expression)
    except InvalidExpression as exc:
        raise ModelRetry(f"Cannot evaluate {expression!r}: {exc}.") from None


@tool(category="memory", user_scoped=True)
async def recall_memory(ctx: RunContext[AgentDeps], query: str, k: int = 5) -> list[str]:
    """Search what you remember about this user (facts, preferences, past conversations)."""
    memory = ctx.deps.memory
    if memory is None:
        raise ModelRetry("Long-term memory is not available right now; answer without it.")
    found = await memory.retrieve(ctx.deps.user_id, query, k=max(1, min(k, 10)))
    return [item.memory.content for item in found.items]


@tool(category="memory", user_scoped=True)
async def remember(ctx: RunContext[AgentDeps], content: str, kind: str = "fact") -> str:
    """Remember something about this user for later conversations.
    `kind` is "fact", "preference" or "episodic"."""
    memory = ctx.deps.memory
    if memory is None:
        raise ModelRetry("Long-term memory is not available right now.")
    try:
        memory_kind = MemoryKind(kind)
    except ValueError:
        raise ModelRetry('kind must be "fact", "preference" or "episodic".') from None
    await memory.store(
        ctx.deps.user_id,
        NewMemory(
            content,
            memory_kind,
            source_conversation_id=ctx.deps.conversation_id,
            source=MemorySource.TOOL,
        ),
    )
    return "Remembered."


class Page(BaseModel):
    url: str
    status: int
    content_type: str
    text: str
    truncated: bool


def make_http_get(
    fetcher: WebFetcher,
    allowed_hosts: Collection[str],
    *,
    calls: int = 30,
    period: float = 60.0,
    cache_ttl: float = 300.0,
    timeout: float = 15.0,
) -> Callable[..., Any]:
    """The `http_get` tool, bound to a fetcher and the hosts it may reach."""
    hosts = sorted(allowed_hosts)

    @tool(category="web", description=f"Fetch a web page (GET) from one of: {', '.join(hosts)}.")
    @with_rate_limit(calls, period, scope="user")
    @with_cache(ttl=cache_ttl)
    @with_timeout(timeout)
    async def http_get(url: str) -> Page:
        if not host_allowed(url, hosts):
            raise ModelRetry(f"URL not allowed; only http(s) URLs on these hosts: {hosts}.")
        page = await fetcher.fetch(url)
        return Page(
            url=page.url,
            status=page.status,
            content_type=page.content_type,
            text=page.text,
            truncated=page.truncated,
        )

    return http_get


BUILTIN_TOOLS: tuple[Callable[..., Any], ...] = (current_time, calculator, recall_memory, remember)
