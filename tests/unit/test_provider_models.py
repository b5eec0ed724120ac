"""`model:` per agent as a Pydantic AI model string, checked at start-up, offline."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers
from pydantic_ai import Agent

from adapters.config.agents import YamlAgentSource
from adapters.lmstudio.providers import is_provider_model
from domain.errors import ConfigurationError
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.fakes.loopback import serve
from tests.fakes.provider_server import REPLY, ProviderFake
from tests.unit.scripted_llm import Server, completion, make


def agent_file(tmp_path: Path, model: str) -> YamlAgentSource:
    (tmp_path / "remote.yaml").write_text(f"name: remote\nmodel: {model!r}\n")
    return YamlAgentSource(tmp_path)


def test_local_names_and_provider_strings_are_told_apart() -> None:
    assert is_provider_model("openai:gpt-4o") and is_provider_model("ollama:llama3.2")
    assert not is_provider_model("qwen2.5-7b-instruct") and not is_provider_model(None)
    assert not is_provider_model("local:qwen2.5:7b")


def test_an_unknown_provider_fails_at_start_up_naming_file_and_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        agent_file(tmp_path, "nope:some-model").load()
    assert "remote.yaml" in info.value.message and "model" in info.value.message
    assert info.value.details == {"file": str(tmp_path / "remote.yaml"), "field": "model"}


def test_a_missing_key_fails_at_start_up_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        agent_file(tmp_path, "openai:gpt-4o-mini").load()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert agent_file(tmp_path, "openai:gpt-4o-mini").load()[0].model == "openai:gpt-4o-mini"


@pytest.fixture
def fake_ollama() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An OpenAI-compatible server on loopback that records request bodies."""
    bodies: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            bodies.append(json.loads(self.rfile.read(length)))
            payload = json.dumps(completion("hello from ollama").json()).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", bodies
    finally:
        server.shutdown()
        server.server_close()


async def test_a_provider_model_is_used_for_its_agent_only(
    fake_ollama: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, bodies = fake_ollama
    monkeypatch.setenv("OLLAMA_BASE_URL", url)
    local = Server(completion("from the local server"))
    models, _ = make(local, model="local-default")
    remote = await models.model("ollama:llama3.2")
    result = await Agent(remote).run("hi")
    assert result.output == "hello from ollama"
    assert bodies[0]["model"] == "llama3.2" and bodies[0]["messages"][-1]["content"] == "hi"
    assert local.requests == []  # nothing went to the local server
    named = await models.model("local:qwen2.5:7b")
    assert named.model_name == "qwen2.5:7b"


# --- every provider the README names, offline: the request each one sends ----------------


@dataclass(frozen=True)
class Wire:
    """What one provider's request must look like on the loopback fake."""

    model: str
    env: dict[str, str]  # `{root}` is the fake's address
    path: str
    key_header: tuple[str, str]
    check: Callable[[dict[str, Any]], None]


INSTRUCTIONS = "Answer in one short sentence."
LOOPBACK = ("127.0.0.1", "::1")


def responses_shape(body: dict[str, Any]) -> None:
    """OpenAI's Responses API, which `openai:` models use."""
    assert body["model"] == "gpt-4o-mini" and body["instructions"].startswith(INSTRUCTIONS)
    assert body["input"][-1] == {"role": "user", "content": "hi"}


def openai_shape(model: str) -> Callable[[dict[str, Any]], None]:
    """OpenAI's Chat Completions API, which Ollama and Groq models use."""

    def check(body: dict[str, Any]) -> None:
        assert body["model"] == model
        first, last = body["messages"][0], body["messages"][-1]
        assert first["role"] in ("system", "developer") and INSTRUCTIONS in first["content"]
        assert last == {"role": "user", "content": "hi"}

    return check


def anthropic_shape(body: dict[str, Any]) -> None:
    assert body["model"] == "claude-haiku-4-5" and isinstance(body["max_tokens"], int)
    system = body["system"]
    text = system if isinstance(system, str) else " ".join(p["text"] for p in system)
    assert INSTRUCTIONS in text
    last = body["messages"][-1]
    assert last["role"] == "user"
    content = last["content"]
    assert content == "hi" or [p.get("text") for p in content] == ["hi"]


def gemini_shape(body: dict[str, Any]) -> None:
    assert body["contents"][-1] == {"role": "user", "parts": [{"text": "hi"}]}
    system = body["systemInstruction"]["parts"]
    assert INSTRUCTIONS in " ".join(p["text"] for p in system)


WIRES = {
    "openai": Wire(
        "openai:gpt-4o-mini",
        {"OPENAI_API_KEY": "sk-openai-test", "OPENAI_BASE_URL": "{root}/v1"},
        "/v1/responses",
        ("authorization", "Bearer sk-openai-test"),
        responses_shape,
    ),
    "ollama": Wire(
        "ollama:llama3.2",
        {"OLLAMA_BASE_URL": "{root}/v1", "OLLAMA_API_KEY": "ollama-test"},
        "/v1/chat/completions",
        ("authorization", "Bearer ollama-test"),
        openai_shape("llama3.2"),
    ),
    "groq": Wire(
        "groq:llama-3.3-70b-versatile",
        {"GROQ_API_KEY": "gsk-test", "GROQ_BASE_URL": "{root}"},
        "/openai/v1/chat/completions",
        ("authorization", "Bearer gsk-test"),
        openai_shape("llama-3.3-70b-versatile"),
    ),
    "anthropic": Wire(
        "anthropic:claude-haiku-4-5",
        {"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": "{root}"},
        "/v1/messages",
        ("authorization", "Bearer sk-ant-test"),  # the SDK (2.x) sends the key as a bearer
        anthropic_shape,
    ),
    "google": Wire(
        "google:gemini-2.5-flash",
        {"GOOGLE_API_KEY": "g-test", "GOOGLE_GEMINI_BASE_URL": "{root}"},
        "/v1beta/models/gemini-2.5-flash:generateContent",
        ("x-goog-api-key", "g-test"),
        gemini_shape,
    ),
    "google-gla": Wire(  # Pydantic AI 1.x's name for the same provider, still accepted
        "google-gla:gemini-2.5-flash",
        {"GOOGLE_API_KEY": "g-test", "GOOGLE_GEMINI_BASE_URL": "{root}"},
        "/v1beta/models/gemini-2.5-flash:generateContent",
        ("x-goog-api-key", "g-test"),
        gemini_shape,
    ),
}


@pytest.fixture
def provider_fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ProviderFake]]:
    """The fake on loopback; while it runs, a connection anywhere else is refused (so a
    provider that ignored its base URL would fail here rather than reach the internet)."""
    connect = socket.socket.connect

    def loopback_only(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in LOOPBACK:
            raise OSError(f"test: a connection to {address[0]} was attempted (loopback only)")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    fake = ProviderFake()
    with serve(fake.app()) as root:
        yield root, fake


@pytest.mark.parametrize("provider", sorted(WIRES))
async def test_a_yaml_agent_on_each_provider_sends_that_providers_request(
    provider: str,
    provider_fake: tuple[str, ProviderFake],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`model: <provider>:<name>` in an agent file, loaded at start-up and run through
    `SendMessage`, reaches that provider's API (here a loopback fake) in its own shape."""
    root, fake = provider_fake
    wire = WIRES[provider]
    for variable in {v for w in WIRES.values() for v in w.env}:
        monkeypatch.delenv(variable, raising=False)
    for variable, value in wire.env.items():
        monkeypatch.setenv(variable, value.format(root=root))
    (tmp_path / "remote.yaml").write_text(
        f"name: remote\nmodel: {wire.model!r}\ninstructions: {INSTRUCTIONS!r}\n"
    )
    local = Server(completion("from the local server"))
    models, _ = make(local, model="local-default")
    container = make_container(make_settings(tmp_path, agents={"dir": str(tmp_path)}))
    container.model_source.override(providers.Object(models))
    runtime = AppRuntime(container)
    await runtime.open()
    try:
        user = await container.register_user().execute("ada", "ada@example.com", "password123")
        done = await container.send_message().execute(user.id, "remote", "hi")
        await runtime.tasks.drain()
    finally:
        await runtime.close()
    assert done.output == REPLY
    assert [(r.method, r.path) for r in fake.requests] == [("POST", wire.path)]
    request = fake.requests[0]
    header, value = wire.key_header
    assert request.headers.get(header) == value
    wire.check(request.body)
    assert local.requests == []  # nothing went to the local server
