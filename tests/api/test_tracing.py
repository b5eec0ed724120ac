"""OpenTelemetry traces of agent runs and Sentry reports, sent to local collectors."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from entrypoints.rest.app import create_app
from tests.api.conftest import FakeLLM, with_model
from tests.conftest import REPO, Api, make_container, make_settings


class Collector:
    """A loopback HTTP server that keeps every POST (path, content type, body)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, bytes]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                collector.received.append((self.path, self.headers["content-type"], body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def collector() -> Iterator[Collector]:
    c = Collector()
    yield c
    c.close()


@pytest.mark.parametrize("include_content", [True, False])
async def test_agent_runs_are_traced_over_otlp(
    tmp_path: Path, llm: FakeLLM, collector: Collector, include_content: bool
) -> None:
    settings = make_settings(
        tmp_path,
        observability={"otlp_endpoint": collector.url, "include_content": include_content},
    )
    app = create_app(with_model(make_container(settings), llm.model), configure_logs=False)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            headers = await Api(http).signup("ada")
            r = await http.post(
                "/api/v1/agents/assistant/run",
                json={"message": "a secret plan"},
                headers=headers,
            )
            assert r.status_code == 200
    # Leaving the lifespan flushed the batched spans to the collector.
    traces = [body for path, kind, body in collector.received if path == "/v1/traces"]
    assert traces and all(kind == "application/x-protobuf" for path, kind, _ in collector.received)
    sent = b"".join(traces)
    assert b"assistant" in sent  # the agent's span
    assert (b"a secret plan" in sent) is include_content


SENTRY_SCRIPT = """
import sys
import sentry_sdk
from adapters.observability.tracing import configure_sentry
from tests.conftest import make_settings

settings = make_settings(None, observability={"sentry_dsn": sys.argv[1]})
assert configure_sentry(settings) is True
sentry_sdk.capture_message("mai sentry wiring test")
sentry_sdk.flush(timeout=5)
assert configure_sentry(make_settings(None)) is False  # off without a DSN
"""


def test_sentry_reports_go_to_the_configured_dsn(collector: Collector) -> None:
    """In a subprocess: Sentry patches libraries process-wide once initialised."""
    host = collector.url.removeprefix("http://")
    done = subprocess.run(
        [sys.executable, "-c", SENTRY_SCRIPT, f"http://key@{host}/42"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert any(path == "/api/42/envelope/" for path, _, _ in collector.received)
