"""`mai` through Typer's CliRunner, on the in-memory profile chosen by environment variables.

The memory profile forgets everything between invocations, so each test does its work in
one command; the chat model is a scripted `FunctionModel` swapped in through the CLI's
`build_container` seam.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from dependency_injector import providers
from pydantic_ai.exceptions import ModelConnectionError
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from typer.testing import CliRunner, Result

from adapters.inprocess.models import StaticModelSource
from adapters.settings import get_settings
from container import Container
from entrypoints.cli import main as cli
from entrypoints.cli import runtime as cli_runtime

UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class ScriptedModel:
    """Echoes "echo: <message> (turn N)"; "time" in a message calls `current_time` first.
    The first `fail_first` requests fail as an unreachable server would."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.model = FunctionModel(self._respond, stream_function=self._stream, model_name="fake")

    def _check(self) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise ModelConnectionError("fake", "connection refused")

    @staticmethod
    def _texts(messages: list[ModelMessage]) -> list[str]:
        return [
            p.content
            for m in messages
            if isinstance(m, ModelRequest)
            for p in m.parts
            if isinstance(p, UserPromptPart) and isinstance(p.content, str)
        ]

    def _reply(self, messages: list[ModelMessage]) -> str | None:
        last = messages[-1]
        if isinstance(last, ModelRequest):
            for part in last.parts:
                if isinstance(part, ToolReturnPart):
                    return f"The time is {part.content}."
        texts = self._texts(messages)
        if "time" in texts[-1]:
            return None  # call the tool first
        return f"echo: {texts[-1]} (turn {len(texts)})"

    def _respond(self, messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        self._check()
        return ModelResponse(parts=[TextPart(self._reply(messages) or "")])

    async def _stream(
        self, messages: list[ModelMessage], _info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        self._check()
        reply = self._reply(messages)
        if reply is None:
            args = '{"timezone": "UTC"}'
            yield {0: DeltaToolCall(name="current_time", json_args=args, tool_call_id="c1")}
            return
        for i, word in enumerate(reply.split(" ")):
            yield word if i == 0 else " " + word


pytestmark = pytest.mark.usefixtures("cli_memory_profile")


class Built:
    """The containers the CLI built, to look at their state after a command."""

    def __init__(self) -> None:
        self.containers: list[Container] = []


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, model: ScriptedModel) -> Built:
    record = Built()

    def build() -> Container:
        container = Container()
        container.model_source.override(providers.Object(StaticModelSource(model.model)))
        record.containers.append(container)
        return container

    monkeypatch.setattr(cli_runtime, "build_container", build)
    return record


def mai(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli.app, list(args), input=stdin)


def test_health_prints_a_line_per_adapter() -> None:
    result = mai("health")
    assert result.exit_code == 0, result.output
    assert re.search(r"^database\s+memory\s+ok", result.stdout, re.M)
    assert re.search(r"^cache\s+in-process\s+ok", result.stdout, re.M)


def test_users_create_and_a_bad_password() -> None:
    result = mai("users", "create", "ada", "--email", "ada@example.com", "--password", "secret123")
    assert result.exit_code == 0, result.output
    assert re.search(rf"created user ada \({UUID_RE}\)", result.stdout)

    result = mai("users", "create", "bob", "--email", "bob@example.com", "--password", "short")
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error [VALIDATION_FAILED]")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bad_setting_is_one_line_and_exit_78(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE__URL", "nonsense")
    get_settings.cache_clear()
    result = mai("health")
    assert result.exit_code == 78
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error [CONFIGURATION_ERROR]") and "DATABASE__URL" in lines[0]
    assert "Traceback" not in result.output


def test_chat_streams_the_reply_and_prints_the_conversation(built: Built) -> None:
    result = mai("chat", "hello there")
    assert result.exit_code == 0, result.output
    assert result.stdout == "echo: hello there (turn 1)\n"
    assert re.search(rf"conversation {UUID_RE}", result.stderr)

    (container,) = built.containers
    local = asyncio.run(container.users().get_by_username("local"))
    assert local is not None and local.is_active  # created on first use


def test_chat_shows_tool_calls_as_their_own_lines(built: Built) -> None:
    result = mai("chat", "what time is it?", "--agent", "assistant")
    assert result.exit_code == 0, result.output
    assert re.search(r'current_time\(\{"timezone": "UTC"\}\)', result.stderr)
    assert result.stdout.startswith("The time is ")


def test_repl_keeps_one_conversation_until_exit(built: Built) -> None:
    result = mai("chat", stdin="hello\nhow are you?\n/exit\nnot read\n")
    assert result.exit_code == 0, result.output
    assert "echo: hello (turn 1)" in result.stdout
    assert "echo: how are you? (turn 2)" in result.stdout
    assert "not read" not in result.stdout
    assert result.stdout.count("you> ") == 3
    assert len(re.findall(rf"^conversation {UUID_RE}", result.stderr, re.M)) == 1


def test_repl_ends_on_eof_and_on_an_empty_line(built: Built) -> None:
    assert mai("chat", stdin="hello\n").exit_code == 0
    result = mai("chat", stdin="\nhello\n")
    assert result.exit_code == 0 and "echo" not in result.stdout


def test_model_down_is_one_line_and_exit_69(built: Built, model: ScriptedModel) -> None:
    model.fail_first = 99
    result = mai("chat", "hello")
    assert result.exit_code == 69
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert errors == [errors[0]] and errors[0].startswith("error [MODEL_UNAVAILABLE]")
    assert re.search(rf"conversation {UUID_RE}", result.stderr)  # the message is kept
    assert "Traceback" not in result.output


def test_an_error_in_the_repl_does_not_end_the_session(built: Built, model: ScriptedModel) -> None:
    model.fail_first = 1
    result = mai("chat", stdin="hello\nhello again\n")
    assert result.exit_code == 0, result.output
    assert "error [MODEL_UNAVAILABLE]" in result.stderr
    assert "echo: hello again (turn 1)" in result.stdout  # the failed turn is not history


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["--conversation", "nope"], 2, "VALIDATION_FAILED"),
        (["--conversation", "6b0d0b8e-7c1a-4a52-9d6b-2b3a4f5e6d7c"], 4, "NOT_FOUND"),
        (["--agent", "nobody"], 4, "NOT_FOUND"),
        (["--user", "ghost"], 4, "NOT_FOUND"),
        (["x" * 40_000], 2, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_chat_errors_exit_non_zero(built: Built, args: list[str], code: int, error: str) -> None:
    if args[0].startswith("--"):
        args = ["hello", *args]
    result = mai("chat", *args)
    assert result.exit_code == code, result.output
    assert result.stderr.strip().splitlines()[-1].startswith(f"error [{error}]")


def test_chat_help_explains_the_local_user() -> None:
    result = mai("chat", "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "--conversation" in text and "--agent" in text
    assert "created on first use with a random password" in text


def test_models_lists_the_llm_servers_models(built: Built) -> None:
    result = mai("models")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["fake"]
