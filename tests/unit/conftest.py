"""Fixtures shared by the unit tests: the CLI's in-memory profile, and closing the scripted
LLM server's clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.settings import get_settings
from tests.conftest import TEST_AGENTS, TEST_SECRET
from tests.unit.scripted_llm import close_clients


@pytest.fixture
def cli_memory_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    """The CLI reads settings from the environment: point it at the in-memory profile."""
    env = {
        "ENVIRONMENT": "test",
        "DATABASE__URL": "memory://",
        "REDIS__URL": "memory://",
        "DATA_DIR": str(tmp_path),
        "JWT__SECRET_KEY": TEST_SECRET,
        "SECURITY__BCRYPT_ROUNDS": "4",
        "AGENTS__DIR": str(TEST_AGENTS),
        "LOG__LEVEL": "WARNING",
        "LOG__FORMAT": "console",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
async def _close_scripted_llm_clients() -> AsyncIterator[None]:
    """The HTTP clients `tests.unit.scripted_llm.make` opened during a test, closed after it."""
    yield
    await close_clients()
