"""The FastAPI application factory: REST under /api/v1, the OpenAI-compatible API under
/v1, GraphQL at /graphql, /metrics.

`create_app()` builds nothing that does I/O; the lifespan enters the `AppRuntime`, which
opens the container's resources (database engine, Redis pool, …), owns the background work
(the memory index reconciler included) and drains and closes both on shutdown.

Importing this module loads what the routes are declared with, not what they run on (issue
#15): the chat turn (Pydantic AI), the SQL stores and the GraphQL schema are imported when
first used, or, in the server `mai serve` runs (`serve_app`), in the background from the
end of its start-up, as it begins to listen (`entrypoints.rest.warm`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from adapters.observability.logging import configure_logging
from adapters.observability.tracing import configure_sentry, configure_tracing
from container import Container
from entrypoints.graphql.endpoint import install_graphql
from entrypoints.rest.errors import install_error_handlers
from entrypoints.rest.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from entrypoints.rest.routes import (
    agents,
    api_keys,
    auth,
    conversations,
    evals,
    memories,
    openai_compat,
    pipelines,
    prompts,
    system,
    tools,
    ui_protocols,
)
from entrypoints.rest.warm import warm_up
from entrypoints.web.console import install_console
from runtime import AppRuntime

API_PREFIX = "/api/v1"
OPENAI_PREFIX = "/v1"  # OpenAI-compatible: the openai SDK's base_url is http://host/v1


def serve_app() -> FastAPI:
    """The app `mai serve` runs: `create_app` on the settings' container, warming up."""
    return create_app(warm=True)


def create_app(
    container: Container | None = None, *, configure_logs: bool = True, warm: bool = False
) -> FastAPI:
    """The application on `container` (one built from the settings by default). `warm`:
    import what the first requests need in the background once the server listens."""
    container = container or Container()
    settings = container.settings()
    if configure_logs:
        configure_logging(settings.log.level, settings.log.format)
    configure_sentry(settings)

    @asynccontextmanager
    async def lifespan(started: FastAPI) -> AsyncIterator[None]:
        stop_tracing = configure_tracing(settings)
        try:
            async with AppRuntime(container, pipelines=True, reconcile=True):
                container.prompt_manager()  # load prompt files now: a broken one stops start-up
                container.agent_catalog()  # load agent definitions now: a broken file too
                container.pipeline_registry()  # and pipelines (which use agents, tools, prompts)
                if warm:  # start-up is done: the server listens next
                    started.state.warm_up = warm_up(container, graphql)  # a thread
                yield
        finally:
            if stop_tracing is not None:
                stop_tracing()

    app = FastAPI(
        title="MAI Framework",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # /docs is Swagger UI from local assets (install_console)
        redoc_url=None,  # ReDoc would load from a CDN
    )
    app.state.container = container
    install_error_handlers(app)

    app.include_router(system.router)
    app.include_router(system.router, prefix=API_PREFIX, include_in_schema=False)
    app.include_router(auth.router, prefix=API_PREFIX)
    app.include_router(api_keys.router, prefix=API_PREFIX)
    app.include_router(conversations.router, prefix=API_PREFIX)
    app.include_router(agents.router, prefix=API_PREFIX)
    app.include_router(ui_protocols.router, prefix=API_PREFIX)
    app.include_router(memories.router, prefix=API_PREFIX)
    app.include_router(prompts.router, prefix=API_PREFIX)
    app.include_router(tools.router, prefix=API_PREFIX)
    app.include_router(pipelines.router, prefix=API_PREFIX)
    app.include_router(evals.router, prefix=API_PREFIX)
    app.include_router(openai_compat.router, prefix=OPENAI_PREFIX)
    graphql = install_graphql(app, container, "/graphql")  # built when first needed
    install_console(app, settings.api.console_dir)  # the web console at /, and /docs

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.api.max_body_bytes)
    if settings.api.security_headers:
        app.add_middleware(SecurityHeadersMiddleware, hsts=settings.api.hsts)
    if settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestContextMiddleware)
    return app
