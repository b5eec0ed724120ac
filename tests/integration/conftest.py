"""A real local LLM server for the integration tests.

`llm_server` starts llama-cpp-python's OpenAI-compatible server with SmolLM2-135M on a free
port, once per session, and stops it at the end. Nothing is skipped: a missing server
package fails the tests with the command that installs it. `MAI_TEST_LLM_URL` points the
tests at a server that is already running (e.g. LM Studio) instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx2
import pytest

from adapters.lmstudio import LMStudioModels, open_http_client
from adapters.settings import LMStudioSettings

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_llm.sh"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS = MODEL_FILE.removesuffix(".gguf")
START_TIMEOUT_SECONDS = 60.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
INSTALL_HINT = "run `make local-llm` (or `bash scripts/local_llm.sh install`)"


def free_port() -> int:
    """A port nothing listens on (bound and released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def model_path() -> Path:
    models_dir = Path(os.environ.get("MAI_MODELS_DIR", ROOT / ".mai" / "models"))
    return models_dir / MODEL_FILE


def ensure_model() -> Path:
    path = model_path()
    if not path.is_file():
        done = subprocess.run(
            ["bash", str(SCRIPT), "fetch"], capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or not path.is_file():
            pytest.fail(f"could not fetch the test model into {path}:\n{done.stdout}{done.stderr}")
    return path


def die_with_parent() -> None:
    """In the child: be sent SIGTERM when pytest dies, even killed (Linux), so no server
    outlives an interrupted test run. A no-op where prctl is unavailable."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the LLM server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx2.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"the LLM server did not answer within {START_TIMEOUT_SECONDS:g}s (log: {log})")


def llm_command(gguf: Path, port: int) -> list[str]:
    """The llama.cpp server command line for the test model on `port`."""
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        # all cores: llama.cpp's default (half of them) generates at about half the speed
        "--n_threads",
        str(os.cpu_count() or 1),
        "--n_threads_batch",
        str(os.cpu_count() or 1),
        "--chat_format",
        "chatml-function-calling",
    ]


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL (`http://127.0.0.1:PORT/v1`) of a running local LLM server."""
    external = os.environ.get("MAI_TEST_LLM_URL")
    if external:
        yield external.rstrip("/")
        return
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail(f"llama-cpp-python is not installed in {sys.prefix}: {INSTALL_HINT}")
    gguf = ensure_model()
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    command = llm_command(gguf, port)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def llm_settings(llm_server: str) -> LMStudioSettings:
    """Settings pointing at the local server; the model is auto-detected. The bundled
    server takes a JSON schema only as `json_object` (what `make run` sets for it)."""
    return LMStudioSettings(
        base_url=llm_server, timeout_seconds=180, max_retries=1, structured_output="json_object"
    )


@pytest.fixture
async def llm_models(llm_settings: LMStudioSettings) -> AsyncIterator[LMStudioModels]:
    client = open_http_client(llm_settings)
    try:
        yield LMStudioModels(llm_settings, client)
    finally:
        await client.aclose()
