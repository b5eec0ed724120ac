"""`/graphql`, built when first needed: Strawberry, graphql-core and the schema cost about
half a second to import and build, which importing the app and `mai serve`'s way to its
first `/health` should not pay (issue #15). The server builds it in the background once it
listens (`entrypoints.rest.warm`); a request that comes first builds it itself.

The endpoint is routed at the path the router was included at before (`/graphql`, HTTP GET
and POST and the WebSocket), and hands each request to the Strawberry router built for that
path, so requests, errors and the app's exception handlers are as they were.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

    from container import Container


class GraphQLEndpoint:
    """An ASGI app that builds the GraphQL router on first use (once, whichever thread asks
    first) and passes every request to it."""

    def __init__(self, container: Container, path: str) -> None:
        self._container = container
        self._path = path
        self._router: ASGIApp | None = None
        self._lock = threading.Lock()

    def build(self) -> ASGIApp:
        router = self._router
        if router is None:
            with self._lock:
                router = self._router
                if router is None:
                    from entrypoints.graphql.schema import build_router

                    router = self._router = build_router(self._container, path=self._path)
        return router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self._router or self.build())(scope, receive, send)


def install_graphql(app: FastAPI, container: Container, path: str = "/graphql") -> GraphQLEndpoint:
    """Route `path` (HTTP and WebSocket) to a `GraphQLEndpoint`; not in the OpenAPI schema."""
    endpoint = GraphQLEndpoint(container, path)
    app.router.routes.append(Route(path, endpoint, include_in_schema=False))
    app.router.routes.append(WebSocketRoute(path, endpoint))
    return endpoint
