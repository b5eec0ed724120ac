"""Real third-party clients against a real uvicorn: the `llm` CLI (from PyPI) and the
`openai` SDK keep their conversation by re-sending it, and the model sees it.

The server runs in a thread of this process with a scripted `FunctionModel`, so the test
can read what the model was shown; the clients are the real programs over real HTTP.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from openai import OpenAI
from pydantic_ai.messages import ModelResponse, TextPart

from entrypoints.rest.app import create_app
from tests.api.conftest import FakeLLM, with_model
from tests.conftest import make_container, make_settings
from tests.e2e.conftest import free_port
from tests.fakes import user_texts

pytestmark = pytest.mark.e2e
LLM_CLI = str(Path(sys.executable).parent / "llm")


class ThreadServer:
    """uvicorn serving the app on a free port, in a thread with its own event loop."""

    def __init__(self, tmp_path: Path) -> None:
        self.llm = FakeLLM()
        container = with_model(make_container(make_settings(tmp_path)), self.llm.model)
        self.port = free_port()
        config = uvicorn.Config(
            create_app(container, configure_logs=False),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))
        self.base_url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def token(self) -> str:
        with httpx.Client(base_url=self.base_url) as http:
            user = {"username": "ada", "email": "ada@example.com", "password": "password123"}
            http.post("/api/v1/auth/register", json=user).raise_for_status()
            r = http.post("/api/v1/auth/login", json={k: user[k] for k in ("username", "password")})
            return str(r.json()["access_token"])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ThreadServer]:
    with ThreadServer(tmp_path) as server:
        yield server


def replies_seen(server: ThreadServer) -> list[str]:
    return [
        p.content
        for m in server.llm.seen[-1]
        if isinstance(m, ModelResponse)
        for p in m.parts
        if isinstance(p, TextPart)
    ]


def test_the_llm_cli_continues_a_conversation(served: ThreadServer, tmp_path: Path) -> None:
    home = tmp_path / "llm-home"
    home.mkdir()
    (home / "extra-openai-models.yaml").write_text(
        f"- model_id: mai-assistant\n"
        f"  model_name: assistant\n"
        f"  api_base: {served.base_url}/v1\n"
        f"  api_key_name: mai\n"
    )
    env = {**os.environ, "LLM_USER_PATH": str(home)}
    key = served.token()

    def llm(*args: str) -> str:
        done = subprocess.run(
            [LLM_CLI, *args, "--key", key],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert llm("-m", "mai-assistant", "my name is Ada") == "echo: my name is Ada (turn 1)"
    # `-c` continues: the CLI re-sends the conversation, which becomes the turn's history.
    assert llm("-c", "what is my name?") == "echo: what is my name? (turn 2)"
    assert user_texts(served.llm.seen[-1]) == ["my name is Ada", "what is my name?"]
    assert replies_seen(served) == ["echo: my name is Ada (turn 1)"]
    # And once more, without streaming.
    assert llm("-c", "--no-stream", "and again?") == "echo: and again? (turn 3)"
    assert user_texts(served.llm.seen[-1])[-1] == "and again?"


def test_the_openai_sdk_re_sending_its_history(served: ThreadServer) -> None:
    client = OpenAI(base_url=f"{served.base_url}/v1", api_key=served.token(), max_retries=0)
    messages: list[dict[str, str]] = [{"role": "user", "content": "hi"}]
    for turn in range(1, 4):
        stream = client.chat.completions.create(
            model="assistant",
            messages=messages,  # type: ignore[arg-type]
            stream=turn % 2 == 0,
        )
        if turn % 2 == 0:
            text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)  # type: ignore[union-attr]
        else:
            text = stream.choices[0].message.content or ""  # type: ignore[union-attr]
        assert text == f"echo: {messages[-1]['content']} (turn {turn})"
        messages.append({"role": "assistant", "content": text})
        messages.append({"role": "user", "content": f"m{turn}"})
    assert len(replies_seen(served)) == 2
