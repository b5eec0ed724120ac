"""The browser pages: the console at `/` (assets under /ui), Swagger UI at /docs and
GraphiQL at /graphql, all from this server; and what each says when web/ is not built.

A stand-in build (an index.html and the vendor file names `make web` produces) keeps these
tests independent of npm; tests/browser/ drives the real build in chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import FakeLLM, running, with_model
from tests.conftest import make_container, make_settings

VENDOR = [
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "swagger-favicon-32x32.png",
]
INDEX = (
    '<!doctype html><html><head><script type="module" src="/ui/assets/app.js"></script>'
    '</head><body><div id="root"></div></body></html>'
)


def fake_build(root: Path) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "vendor").mkdir()
    (root / "index.html").write_text(INDEX)
    (root / "assets" / "app.js").write_text("console.log('console');")
    for name in VENDOR:
        (root / "vendor" / name).write_text("/* vendored */")
    return root


async def client_for(tmp_path: Path, console_dir: Path, llm: FakeLLM, **overrides: object):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, api={"console_dir": str(console_dir)}, **overrides)
    container = with_model(make_container(settings), llm.model)
    async with running(container) as (_app, http):
        yield http


@pytest.fixture
async def built(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[httpx.AsyncClient]:
    async for http in client_for(tmp_path, fake_build(tmp_path / "dist"), llm):
        yield http


@pytest.fixture
async def unbuilt(tmp_path: Path, llm: FakeLLM) -> AsyncIterator[httpx.AsyncClient]:
    async for http in client_for(tmp_path, tmp_path / "missing", llm):
        yield http


def other_hosts(html: str) -> list[str]:
    """Absolute URLs in src/href attributes: a page that loads from another host."""
    return re.findall(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", html)


async def test_the_console_is_served_at_the_root_with_a_same_origin_policy(
    built: httpx.AsyncClient,
) -> None:
    r = await built.get("/")
    assert r.status_code == 200 and r.text == INDEX
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp
    assert "script-src 'self';" in csp  # the console runs no inline script
    asset = await built.get("/ui/assets/app.js")
    assert asset.status_code == 200 and "console" in asset.text
    assert (await built.get("/ui/assets/nope.js")).status_code == 404
    assert (await built.get("/ui/../pyproject.toml")).status_code == 404


async def test_swagger_ui_and_graphiql_load_only_local_assets(built: httpx.AsyncClient) -> None:
    docs = await built.get("/docs")
    assert docs.status_code == 200
    assert "/ui/vendor/swagger-ui-bundle.js" in docs.text and "/openapi.json" in docs.text
    assert other_hosts(docs.text) == []
    assert "default-src 'self'" in docs.headers["content-security-policy"]
    ide = await built.get("/graphql", headers={"Accept": "text/html"})
    assert ide.status_code == 200
    assert "/ui/vendor/graphiql.min.js" in ide.text and "unpkg" not in ide.text
    assert other_hosts(ide.text) == []
    assert (await built.get("/docs/oauth2-redirect")).status_code == 200
    assert (await built.get("/redoc")).status_code == 404  # ReDoc would load from a CDN


async def test_the_pages_shadow_no_api_route(built: httpx.AsyncClient) -> None:
    assert (await built.get("/health")).json() == {"status": "ok"}
    assert (await built.get("/openapi.json")).json()["info"]["title"] == "MAI Framework"
    assert (await built.get("/metrics")).status_code == 200
    unauthorized = await built.get("/api/v1/agents")
    assert unauthorized.status_code == 401 and unauthorized.json()["error"]["code"]
    assert (await built.get("/v1/models")).status_code == 401
    gql = await built.post("/graphql", json={"query": "{ __typename }"})
    assert gql.status_code == 200 and gql.json()["data"] == {"__typename": "Query"}
    paths = (await built.get("/openapi.json")).json()["paths"]
    assert "/" not in paths and "/docs" not in paths  # pages, not API operations


async def test_without_a_build_each_page_says_how_to_build_it(unbuilt: httpx.AsyncClient) -> None:
    for path, headers in [("/", {}), ("/docs", {}), ("/graphql", {"Accept": "text/html"})]:
        r = await unbuilt.get(path, headers=headers)
        assert r.status_code == 503, path
        assert "make web" in r.text and "npm ci" in r.text, path
        assert r.headers["content-type"].startswith("text/html")
    assert (await unbuilt.get("/ui/assets/app.js")).status_code == 404
    assert (await unbuilt.get("/health")).status_code == 200
