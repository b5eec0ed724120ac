"""The console, Swagger UI (/docs) and GraphiQL (/graphql) render in chromium while asking
nothing of any other host: every request the page makes goes to this server."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from tests.browser.conftest import Console, sign_in

PAGES = {
    "/": "form[aria-labelledby=signin-title]",
    "/docs": ".swagger-ui .opblock",  # the operations, rendered from /openapi.json
    "/graphql": ".graphiql-container .graphiql-query-editor",
}


@pytest.mark.parametrize("path", list(PAGES))
def test_the_page_renders_from_this_server_alone(page: Any, console: Console, path: str) -> None:
    if path == "/graphql":
        sign_in(page, console)  # GraphiQL takes the console's token for its headers
    origin = urlsplit(console.url).netloc
    elsewhere: list[str] = []

    def record(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in ("data", "blob") and parts.netloc != origin:
            elsewhere.append(request.url)

    page.on("request", record)
    page.goto(console.url + path, wait_until="networkidle")
    page.locator(PAGES[path]).first.wait_for()
    page.wait_for_load_state("networkidle")
    assert elsewhere == []


def test_graphiql_runs_a_query_with_the_consoles_session(page: Any, console: Console) -> None:
    sign_in(page, console)
    page.goto(console.url + "/graphql")
    page.locator(".graphiql-execute-button").click()
    page.locator(".result-window", has_text='"username": "ada"').wait_for()
    # A subscription goes over graphql-transport-ws, authorized by the same session; the
    # operation comes in the URL's fragment, as a shared link would bring it.
    subscription = 'subscription { chat(agent: "assistant", message: "hi") { type text } }'
    page.goto("about:blank")  # a new document: GraphiQL reads the fragment when it starts
    page.goto(f"{console.url}/graphql#query={quote(subscription)}")
    page.locator(".graphiql-execute-button").click()
    page.locator(".result-window", has_text='"type": "D').wait_for()  # DELTA…, then DONE
