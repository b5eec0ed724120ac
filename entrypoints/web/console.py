"""Routes of the browser pages: the console at `/` (its assets under `/ui`), Swagger UI at
`/docs`. They sit beside the API and shadow none of it: /api, /v1, /graphql, /openapi.json,
/health, /ready and /metrics are matched as before, since only `/`, `/docs*` and `/ui/*`
are claimed here. The console is a single page with hash routes (`/#/memories`), so no
catch-all route is needed."""

from __future__ import annotations

import anyio
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

from entrypoints.web.pages import ASSETS_PREFIX, console_dist, console_page, swagger_page


class ConsoleAssets(StaticFiles):
    """web/dist as static files; while it is not built, every asset is a plain 404 (and
    `make web` on a running server needs no restart)."""

    async def check_config(self) -> None:
        if self.directory is not None and await anyio.Path(self.directory).is_dir():
            await super().check_config()


def install_console(app: FastAPI, console_dir: str = "") -> None:
    """Serve the built console and the self-hosted Swagger UI (create the app with
    `docs_url=None, redoc_url=None`: FastAPI's own pages load from a CDN)."""
    dist = console_dist(console_dir)
    # check_dir=False: a missing build answers 404 for assets, and `/` says how to build.
    app.mount(ASSETS_PREFIX, ConsoleAssets(directory=dist, check_dir=False), name="console")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def console() -> HTMLResponse:  # sync: FastAPI reads the file in its thread pool
        return console_page(dist)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return swagger_page(dist, openapi_url, app.title)

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
