"""The GraphQL router with GraphiQL from local assets instead of Strawberry's CDN page."""

from __future__ import annotations

from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse

from entrypoints.graphql.errors import ContractGraphQLRouter
from entrypoints.web.pages import REPO_WEB_DIST, graphiql_page


class LocalGraphiQLRouter(ContractGraphQLRouter):
    """Renders /graphql's IDE page (GET with `Accept: text/html`) from web/dist/vendor."""

    console_dist: Path = REPO_WEB_DIST

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return await anyio.to_thread.run_sync(graphiql_page, self.console_dist, request.url.path)
