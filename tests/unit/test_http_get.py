"""`http_get`: the domain's allow-list, the httpx fetcher (on a mock transport), the tool."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import httpx
import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from adapters.inprocess.cache import InProcessCache
from adapters.inprocess.rate_limiter import InProcessRateLimiter
from adapters.inprocess.tool_metrics import RecordingToolMetrics
from adapters.inprocess.tools import InProcessToolStateStore
from adapters.web.fetcher import MAX_REDIRECTS, HttpxWebFetcher
from application.agents.runner import AgentDeps
from application.tools.builtins import Page, make_http_get
from application.tools.registry import ToolRegistry
from application.tools.toolset import invoke
from domain.agents.models import AgentDefinition
from domain.errors import PermissionDenied, ServiceUnavailable, ValidationFailed
from domain.tools.errors import ToolRateLimited
from domain.tools.web import host_allowed
from entrypoints.rest.errors import http_status

CALLER = AgentDeps(user_id=uuid4())  # someone on whose behalf a tool runs

ALLOWED = ("example.com", "api.test:8443", ".docs.org")

# --- the allow-list (domain) -----------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "https://example.com/path?q=1#frag",
        "https://EXAMPLE.COM/",  # hosts are case-insensitive
        "http://example.com:8080/",  # an entry without a port allows any port
        "https://api.test:8443/v1",  # host:port entry, that port
        "https://a.docs.org/",  # ".docs.org": subdomains
        "https://deep.a.docs.org/x",
    ],
)
def test_allowed_urls(url: str) -> None:
    assert host_allowed(url, ALLOWED) is True


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",  # scheme
        "file:///etc/passwd",
        "javascript:alert(1)",
        "//example.com/",  # no scheme
        "example.com",
        "http:///example.com",  # no host
        "https://sub.example.com/",  # exact entry: no subdomains
        "https://api.test/",  # host:port entry: only that port
        "https://api.test:9000/",
        "https://docs.org/",  # ".docs.org" is subdomains only
        "https://evildocs.org/",  # suffix without the dot
        "https://example.com.evil.net/",  # lookalikes
        "https://example.com-evil.net/",
        "https://evil.net/example.com",
        "https://evil.net/?next=https://example.com/",
        "https://evil.net#@example.com",
        "https://example.com@evil.net/",  # userinfo trick: the host is evil.net
        "https://user@example.com/",  # credentials
        "https://user:secret@example.com/",
        "https://example.com./",  # trailing dot is a different name to the list
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://localhost/",
    ],
)
def test_refused_urls(url: str) -> None:
    assert host_allowed(url, ALLOWED) is False


def test_an_empty_allow_list_allows_nothing() -> None:
    assert host_allowed("https://example.com/", ()) is False


@pytest.mark.parametrize("url", ["https://:secret@example.com/", "https://@example.com/"])
def test_password_only_credentials_are_refused(url: str) -> None:
    assert host_allowed(url, ALLOWED) is False


# --- the fetcher (adapter) ----------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


class Site:
    """A mock transport that records every request it serves."""

    def __init__(self, handler: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self._handler = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._handler(request)

    @property
    def urls(self) -> list[str]:
        return [str(r.url) for r in self.requests]

    def fetcher(self, hosts: tuple[str, ...] = ALLOWED, **kw: Any) -> HttpxWebFetcher:
        return HttpxWebFetcher(hosts, transport=httpx.MockTransport(self), **kw)


def text(body: str, content_type: str = "text/html; charset=utf-8") -> httpx.Response:
    return httpx.Response(200, content=body.encode(), headers={"content-type": content_type})


def redirect(location: str, status: int = 302) -> httpx.Response:
    return httpx.Response(status, headers={"location": location})


@pytest.fixture
async def fetchers() -> AsyncIterator[list[HttpxWebFetcher]]:
    """Fetchers made by a test, closed after it."""
    made: list[HttpxWebFetcher] = []
    yield made
    for f in made:
        await f.aclose()


async def test_fetch_ok(fetchers: list[HttpxWebFetcher]) -> None:
    site = Site(lambda r: text("<p>héllo</p>"))
    fetchers.append(fetcher := site.fetcher())
    page = await fetcher.fetch("https://example.com/hello")
    assert (page.url, page.status, page.text, page.truncated) == (
        "https://example.com/hello",
        200,
        "<p>héllo</p>",
        False,
    )
    assert page.content_type.startswith("text/html")
    assert site.requests[0].method == "GET"
    assert site.requests[0].headers["user-agent"] == "mai-framework http_get tool"


async def test_a_non_2xx_page_is_returned_with_its_status(
    fetchers: list[HttpxWebFetcher],
) -> None:
    site = Site(lambda r: httpx.Response(404, text="nope", headers={"content-type": "text/plain"}))
    fetchers.append(fetcher := site.fetcher())
    page = await fetcher.fetch("https://example.com/missing")
    assert (page.status, page.text) == (404, "nope")


async def test_the_body_is_truncated_at_max_bytes(fetchers: list[HttpxWebFetcher]) -> None:
    site = Site(lambda r: text("a" * 5000 if r.url.path == "/big" else "b" * 1000, "text/plain"))
    fetchers.append(fetcher := site.fetcher(max_bytes=1000))
    big = await fetcher.fetch("https://example.com/big")
    assert big.truncated is True and big.text == "a" * 1000
    exact = await fetcher.fetch("https://example.com/exact")
    assert exact.truncated is False and len(exact.text) == 1000


@pytest.mark.parametrize(
    "content_type", ["image/png", "application/octet-stream", "application/pdf"]
)
async def test_binary_content_is_refused(
    fetchers: list[HttpxWebFetcher], content_type: str
) -> None:
    site = Site(
        lambda r: httpx.Response(
            200, content=b"\x89PNG\x00", headers={"content-type": content_type}
        )
    )
    fetchers.append(fetcher := site.fetcher())
    with pytest.raises(PermissionDenied, match="Only text content") as caught:
        await fetcher.fetch("https://example.com/file")
    assert caught.value.details["content_type"] == content_type


@pytest.mark.parametrize("content_type", ["application/json", "application/xml", "text/csv"])
async def test_text_like_content_is_accepted(
    fetchers: list[HttpxWebFetcher], content_type: str
) -> None:
    site = Site(lambda r: text('{"a": 1}', content_type))
    fetchers.append(fetcher := site.fetcher())
    assert (await fetcher.fetch("https://example.com/data")).text == '{"a": 1}'


async def test_a_redirect_to_an_allowed_host_is_followed(
    fetchers: list[HttpxWebFetcher],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "example.com" and request.url.path == "/old":
            return redirect("/new", 301)  # relative: resolved against the current URL
        if request.url.host == "example.com" and request.url.path == "/new":
            return redirect("https://a.docs.org/final")
        return text("final")

    site = Site(handler)
    fetchers.append(fetcher := site.fetcher())
    page = await fetcher.fetch("https://example.com/old")
    assert (page.url, page.text) == ("https://a.docs.org/final", "final")
    assert site.urls == [
        "https://example.com/old",
        "https://example.com/new",
        "https://a.docs.org/final",
    ]


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:6379/",
        "https://example.com.evil.net/",
        "ftp://example.com/",
    ],
)
async def test_a_redirect_off_the_allow_list_is_refused_before_it_is_requested(
    fetchers: list[HttpxWebFetcher], target: str
) -> None:
    site = Site(lambda r: redirect(target) if r.url.host == "example.com" else text("secret"))
    fetchers.append(fetcher := site.fetcher())
    with pytest.raises(PermissionDenied, match="not on the allow-list") as caught:
        await fetcher.fetch("https://example.com/go")
    assert caught.value.details["url"] == target
    assert site.urls == ["https://example.com/go"]  # the target was never requested


async def test_too_many_redirects(fetchers: list[HttpxWebFetcher]) -> None:
    site = Site(lambda r: redirect(f"/hop{len(site.requests)}"))
    fetchers.append(fetcher := site.fetcher())
    with pytest.raises(ServiceUnavailable, match="Too many redirects") as caught:
        await fetcher.fetch("https://example.com/loop")
    assert caught.value.retryable is False
    assert len(site.requests) == MAX_REDIRECTS + 1


async def test_a_transport_error_is_service_unavailable(
    fetchers: list[HttpxWebFetcher],
) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    fetchers.append(fetcher := Site(down).fetcher())
    with pytest.raises(ServiceUnavailable, match="Could not fetch") as caught:
        await fetcher.fetch("https://example.com/")
    assert caught.value.details["reason"] == "ConnectError"


async def test_the_fetcher_checks_the_first_url_too(fetchers: list[HttpxWebFetcher]) -> None:
    site = Site(lambda r: text("x"))
    fetchers.append(fetcher := site.fetcher())
    with pytest.raises(PermissionDenied):
        await fetcher.fetch("https://evil.net/")
    assert site.requests == []


# --- the tool (application) ---------------------------------------------------------------


def tool_registry(site: Site, fetchers: list[HttpxWebFetcher], **kw: Any) -> ToolRegistry:
    fetchers.append(fetcher := site.fetcher())
    registry = ToolRegistry(
        InProcessToolStateStore(),
        cache=InProcessCache(),
        limiter=InProcessRateLimiter(),
        metrics=RecordingToolMetrics(),
    )
    registry.register(make_http_get(fetcher, ALLOWED, **kw))
    return registry


async def test_the_tool_is_described_with_its_hosts(fetchers: list[HttpxWebFetcher]) -> None:
    registry = tool_registry(Site(lambda r: text("x")), fetchers)
    meta = registry.get("http_get")
    assert meta.category == "web"
    assert meta.description == (
        "Fetch a web page (GET) from one of: .docs.org, api.test:8443, example.com."
    )
    assert meta.parameters["required"] == ["url"]


async def test_the_tool_fetches_and_caches(fetchers: list[HttpxWebFetcher]) -> None:
    site = Site(lambda r: text(f"page {r.url.path}"))
    registry = tool_registry(site, fetchers)
    deps = AgentDeps(user_id=uuid4())
    first = await invoke(registry, "http_get", {"url": "https://example.com/a"}, deps)
    again = await invoke(registry, "http_get", {"url": "https://example.com/a"}, deps)
    assert isinstance(first, Page) and first.text == "page /a"
    assert again == first
    assert site.urls == ["https://example.com/a"]  # the second call was a cache hit
    assert registry.metrics.cache_hits == ["http_get"]  # type: ignore[union-attr]
    await invoke(registry, "http_get", {"url": "https://example.com/b"}, deps)
    assert len(site.requests) == 2  # other arguments: a miss


async def test_a_non_allowed_url_is_refused_without_a_request(
    fetchers: list[HttpxWebFetcher],
) -> None:
    site = Site(lambda r: text("secret"))
    registry = tool_registry(site, fetchers)
    with pytest.raises(ValidationFailed, match="URL not allowed") as caught:
        await invoke(registry, "http_get", {"url": "http://169.254.169.254/"}, CALLER)
    assert http_status(caught.value) == 422
    assert "example.com" in caught.value.message  # the caller is told what is allowed
    assert site.requests == []


async def test_a_failed_fetch_is_not_cached(fetchers: list[HttpxWebFetcher]) -> None:
    site = Site(lambda r: redirect("http://127.0.0.1/admin"))
    registry = tool_registry(site, fetchers)
    for _ in range(2):
        with pytest.raises(PermissionDenied):
            await invoke(registry, "http_get", {"url": "https://example.com/r"}, CALLER)
    assert len(site.requests) == 2
    assert len(registry.cache) == 0  # type: ignore[arg-type]


async def test_the_rate_limit_applies_per_user_even_to_cache_hits(
    fetchers: list[HttpxWebFetcher],
) -> None:
    site = Site(lambda r: text("ok"))
    registry = tool_registry(site, fetchers, calls=2, period=60)
    alice, bob = AgentDeps(user_id=uuid4()), AgentDeps(user_id=uuid4())
    url = {"url": "https://example.com/"}
    await invoke(registry, "http_get", url, alice)
    await invoke(registry, "http_get", url, alice)
    with pytest.raises(ToolRateLimited) as caught:
        await invoke(registry, "http_get", url, alice)
    assert 0 < (caught.value.retry_after or 0) <= 60
    assert (await invoke(registry, "http_get", url, bob)).text == "ok"  # bob's own budget
    assert len(site.requests) == 1
    outcomes = registry.metrics.outcomes("http_get")  # type: ignore[union-attr]
    assert outcomes == ["ok", "ok", "rate_limited", "ok"]


def calling_http_get(url: str) -> FunctionModel:
    """Calls http_get once, then answers with what came back (and how)."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = messages[-1]
        returned = (
            [p for p in getattr(last, "parts", []) if isinstance(p, ToolReturnPart)]
            if isinstance(last, ModelRequest)
            else []
        )
        if returned:
            return ModelResponse(parts=[TextPart(f"{returned[0].outcome}: {returned[0].content}")])
        return ModelResponse(parts=[ToolCallPart("http_get", {"url": url}, "call-1")])

    return FunctionModel(respond)


async def run_agent(registry: ToolRegistry, url: str) -> str:
    toolset = registry.toolset_for(AgentDefinition(name="browser", tools=("http_get",)))
    agent = Agent(calling_http_get(url), deps_type=AgentDeps, toolsets=[toolset])
    return str((await agent.run("fetch it", deps=AgentDeps(user_id=uuid4()))).output)


async def test_the_model_is_told_when_a_url_is_not_allowed(
    fetchers: list[HttpxWebFetcher],
) -> None:
    site = Site(lambda r: text("the page"))
    registry = tool_registry(site, fetchers)
    assert "the page" in await run_agent(registry, "https://example.com/")
    refused = await run_agent(registry, "https://example.com.evil.net/")
    assert refused.startswith("retried: URL not allowed")
    redirected = Site(lambda r: redirect("http://10.0.0.1/"))
    registry = tool_registry(redirected, fetchers)
    answer = await run_agent(registry, "https://example.com/")
    assert answer.startswith("failed: PERMISSION_DENIED: URL is not on the allow-list")
    assert redirected.urls == ["https://example.com/"]
