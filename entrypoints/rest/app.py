"""The FastAPI application factory: REST under /api/v1, the OpenAI-compatible API under
/v1, GraphQL at /graphql, /metrics.

`create_app()` builds nothing that does I/O; the lifespan opens the container's resources
(database engine, Redis pool) and closes them on shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from adapters.observability.logging import configure_logging
from adapters.observability.tracing import configure_sentry, configure_tracing
from container import Container, close_resources, open_resources
from entrypoints.graphql.schema import build_router
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
from entrypoints.web.console import install_console

API_PREFIX = "/api/v1"
OPENAI_PREFIX = "/v1"  # OpenAI-compatible: the openai SDK's base_url is http://host/v1


def create_app(container: Container | None = None, *, configure_logs: bool = True) -> FastAPI:
    container = container or Container()
    settings = container.settings()
    if configure_logs:
        configure_logging(settings.log.level, settings.log.format)
    configure_sentry(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop_tracing = configure_tracing(settings)
        await open_resources(container, pipelines=True)
        container.prompt_manager()  # load prompt files now: a broken one stops start-up
        container.agent_catalog()  # load agent definitions now: a broken file stops start-up
        container.pipeline_registry()  # and pipelines (which use agents, tools, prompts)
        stop = asyncio.Event()
        # Drains the memory outbox (index writes that failed while the index was down).
        reconciler = asyncio.create_task(container.reconcile_index().run_forever(stop=stop))
        try:
            yield
        finally:
            stop.set()
            await reconciler
            await container.conversation_context().drain()
            await close_resources(container)
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
    app.include_router(build_router(container), prefix="/graphql", include_in_schema=False)
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
