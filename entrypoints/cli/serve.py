"""`mai serve`: uvicorn, and once it listens, where to go and how to begin.

The banner is printed after uvicorn's start-up (a subclassed `uvicorn.Server`), so it is the
last thing `make run` shows before requests are logged: the console, the API docs,
GraphiQL, the OpenAI-compatible base URL, and the commands for a first account and a first
chat in the terminal (with the `.venv/bin` path spelled out, nobody has to guess it).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import uvicorn

APP = "entrypoints.rest.app:serve_app"


def base_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104  (shown, not bound)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def _mai() -> str:
    """How to run `mai` from here: its path under the project when it is not on PATH."""
    here = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("mai")
    try:
        relative = here.resolve().relative_to(Path.cwd())
    except ValueError:
        return "mai"
    return str(relative) if relative.parent != Path(".") else "mai"


def banner(url: str, mai: str = "mai") -> str:
    return "\n".join(
        [
            "",
            f"MAI is ready at {url}",
            f"  web console   {url}/",
            f"  API docs      {url}/docs",
            f"  GraphiQL      {url}/graphql",
            f"  OpenAI API    {url}/v1   (base_url for the openai SDK, the llm CLI, …)",
            "",
            "First steps (in another terminal):",
            f"  {mai} users create ada --email ada@example.com   # asks for a password",
            "    or in the browser: sign up on the console, or POST /api/v1/auth/register",
            f"  {mai} chat                                        # chat in the terminal",
            f"  {mai} keys create --user ada --name laptop        # an API key for clients",
            "",
        ]
    )


class _AnnouncingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, text: str) -> None:
        super().__init__(config)
        self._text = text

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self._text, file=sys.stderr, flush=True)


def run(host: str, port: int, *, reload: bool, graceful_seconds: int) -> None:
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_config": None,
        "proxy_headers": True,
        # SIGTERM: stop accepting, let open requests and streams finish for this long, then
        # cancel them (a cancelled turn is marked failed, never half-written), then close.
        "timeout_graceful_shutdown": graceful_seconds,
    }
    if reload:  # the reloader runs the server in a child process: no banner hook there
        uvicorn.run(APP, reload=True, **options)
        return
    server = _AnnouncingServer(uvicorn.Config(APP, **options), banner(base_url(host, port), _mai()))
    server.run()
    if not server.started:  # as uvicorn.run does: a server that never started is an error
        sys.exit(3)
