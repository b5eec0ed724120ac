"""HTML of the self-hosted pages, and where their built assets live.

The assets come from `web/` (npm, pinned in web/package-lock.json): `make web` builds the
console into web/dist and copies the prebuilt Swagger UI and GraphiQL bundles into
web/dist/vendor. Without that build, each page answers 503 with how to build it, never a
500 and never a page that silently loads from a CDN.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

REPO_WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
ASSETS_PREFIX = "/ui"  # web/dist is mounted here; index.html is served at `/`
VENDOR = f"{ASSETS_PREFIX}/vendor"

# Same origin only: a page may load and connect to nothing on another host. The inline
# scripts are FastAPI's Swagger UI bootstrap and the GraphiQL bootstrap below.
PAGE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)
CONSOLE_CSP = PAGE_CSP.replace("script-src 'self' 'unsafe-inline'", "script-src 'self'")

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>MAI: {what} is not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto;
padding: 0 1rem; line-height: 1.5">
<h1>{what} is not built yet</h1>
<p>Its files are built from <code>web/</code> with npm (Node 18+). From the repository, run</p>
<pre>make web</pre>
<p>(<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>), then reload this page.
<code>make run</code> does it for you. Expected in: <code>{where}</code>.</p>
<p>The API works without it: <a href="/openapi.json">/openapi.json</a>,
<a href="/health">/health</a>.</p>
</body></html>
"""


def console_dist(console_dir: str) -> Path:
    """API__CONSOLE_DIR, or web/dist next to the code."""
    return Path(console_dir).resolve() if console_dir else REPO_WEB_DIST


def page(content: str, *, status_code: int = 200, csp: str = PAGE_CSP) -> HTMLResponse:
    return HTMLResponse(
        content,
        status_code=status_code,
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"},
    )


def not_built(what: str, dist: Path) -> HTMLResponse:
    body = NOT_BUILT.format(what=html.escape(what), where=html.escape(str(dist)))
    return page(body, status_code=503)


def console_page(dist: Path) -> HTMLResponse:
    index = dist / "index.html"
    if not index.is_file():
        return not_built("The web console", dist)
    return page(index.read_text(encoding="utf-8"), csp=CONSOLE_CSP)


def swagger_page(dist: Path, openapi_url: str, title: str) -> HTMLResponse:
    if not (dist / "vendor" / "swagger-ui-bundle.js").is_file():
        return not_built("Swagger UI", dist)
    built = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{title} - Swagger UI",
        swagger_js_url=f"{VENDOR}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR}/swagger-favicon-32x32.png",
        oauth2_redirect_url="/docs/oauth2-redirect",
        swagger_ui_parameters={"persistAuthorization": True},
    )
    return page(bytes(built.body).decode())


GRAPHIQL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>MAI GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{vendor}/graphiql.min.css">
<style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql">Loading…</div>
<script src="{vendor}/react.production.min.js"></script>
<script src="{vendor}/react-dom.production.min.js"></script>
<script src="{vendor}/graphiql.min.js"></script>
<script>
  // The console's session (sign in at /) fills the Authorization header, over HTTP and in
  // the graphql-transport-ws connection_init payload.
  let token = "";
  try {{ token = JSON.parse(localStorage.getItem("mai.session") || "null")?.access_token || ""; }}
  catch (e) {{}}
  const auth = token ? {{ Authorization: "Bearer " + token }} : {{}};
  const url = new URL({path}, location.href);
  const ws = new URL(url); ws.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const fetcher = GraphiQL.createFetcher({{
    url: url.href, subscriptionUrl: ws.href, wsConnectionParams: auth,
  }});
  // /graphql#query=…&variables=… opens a shared operation (in the fragment: a GET with
  // ?query= is a GraphQL request, not this page).
  const shared = new URLSearchParams(location.hash.slice(1));
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {{
      fetcher,
      query: shared.get("query") ?? undefined,
      variables: shared.get("variables") ?? undefined,
      headers: JSON.stringify(auth, null, 2),
      shouldPersistHeaders: false,
      defaultQuery:
        "# Sign in at / and your token fills the headers below.\\n" +
        "{{ me {{ username }} agents {{ name }} }}\\n",
    }}),
  );
</script>
</body>
</html>
"""


def graphiql_page(dist: Path, path: str = "/graphql") -> HTMLResponse:
    if not (dist / "vendor" / "graphiql.min.js").is_file():
        return not_built("GraphiQL", dist)
    return page(GRAPHIQL.format(vendor=VENDOR, path=json.dumps(path)))
