"""`model:` per agent as a Pydantic AI model string, checked at start-up, offline."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent

from adapters.config.agents import YamlAgentSource
from adapters.lmstudio.providers import is_provider_model
from domain.errors import ConfigurationError
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
