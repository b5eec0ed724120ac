from __future__ import annotations

import json
import logging

import pytest
import structlog

from adapters.observability.logging import configure_logging, redact_text
from adapters.settings import load_settings
from domain.errors import ConfigurationError


def test_defaults_are_the_embedded_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATABASE__URL", "REDIS__URL", "MEMORY__VECTOR_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(_env_file=None)
    assert s.profile == "embedded"
    assert s.database.backend == "sqlite"
    assert s.memory.vector_backend == "qdrant-edge"


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("DATABASE__URL", "nonsense"),
        ("REDIS__URL", "http://x"),
        ("API__PORT", "99999"),
        ("MEMORY__VECTOR_BACKEND", "faiss"),
        ("LM_STUDIO__BASE_URL", "localhost:1234"),
        ("JWT__SECRET_KEY", "short"),
    ],
)
def test_a_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings(_env_file=None)
    assert var in info.value.message
    assert info.value.details["variable"] == var
    assert "\n" not in info.value.message


def test_env_overrides_nested_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API__PORT", "9000")
    monkeypatch.setenv("DATABASE__URL", "postgresql+asyncpg://u:p@h/db")
    s = load_settings(_env_file=None)
    assert s.api.port == 9000
    assert s.profile == "production"


def test_redaction_of_tokens_and_url_passwords() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"
    text = redact_text(f"Bearer {jwt} and postgresql://user:hunter2@db/x")
    assert "hunter2" not in text and jwt not in text
    assert "postgresql://user:***@db/x" in text
    key = "mai_" + "Ab3_-x" * 7
    assert redact_text(f"used {key} here") == "used *** here"
    assert redact_text("prefix mai_Ab3xYz01 is fine") == "prefix mai_Ab3xYz01 is fine"


def test_logs_are_json_and_never_carry_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    structlog.contextvars.bind_contextvars(request_id="rid-1")
    structlog.get_logger("t").info("login", password="hunter2", refresh_token="abc", username="ada")
    logging.getLogger("stdlib").warning("url redis://:sekret@host:6379/0")
    structlog.contextvars.clear_contextvars()
    lines = [json.loads(x) for x in capsys.readouterr().err.strip().splitlines()]
    assert lines[0]["event"] == "login" and lines[0]["request_id"] == "rid-1"
    assert lines[0]["password"] == "***" and lines[0]["refresh_token"] == "***"
    assert lines[0]["username"] == "ada"
    assert "sekret" not in json.dumps(lines)


def test_token_counts_are_logged_but_token_strings_are_not(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "json")
    structlog.get_logger("t").info(
        "agent_run",
        input_tokens=120,
        output_tokens=30,
        total_tokens=150,
        cached_tokens=100,
        usage={"prompt_tokens": 7, "max_tokens": 64},
        tokens="sk-not-a-count",
        access_token=12345,
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[0])
    assert (line["input_tokens"], line["output_tokens"], line["total_tokens"]) == (120, 30, 150)
    assert line["cached_tokens"] == 100 and line["usage"] == {"prompt_tokens": 7, "max_tokens": 64}
    assert line["tokens"] == "***" and line["access_token"] == "***"


async def test_the_bundled_embedder_takes_its_thread_count_from_settings() -> None:
    from dependency_injector import providers

    from container import Container
    from tests.conftest import make_settings

    container = Container()
    container.settings.override(providers.Object(make_settings(memory={"embedder_threads": 1})))
    embedder = await container.embedder.init()  # type: ignore[misc]
    try:
        assert embedder._num_threads == 1
    finally:
        await container.embedder.shutdown()  # type: ignore[misc]
    with pytest.raises(ConfigurationError, match="MEMORY__EMBEDDER_THREADS"):
        make_settings(memory={"embedder_threads": 0})
