"""The runtime can open, close and open a container again (an app's lifespan run twice, as
schemathesis and Starlette's TestClient do): what a test overrode stays a plain value, and
everything the runtime opened is closed, in reverse order, even when opening fails."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from domain.errors import ConfigurationError
from runtime import AppRuntime
from tests.conftest import make_container, make_settings


async def test_an_overridden_resource_stays_plain_after_a_second_opening(tmp_path: Path) -> None:
    container = make_container(make_settings(tmp_path))
    for _ in range(2):
        async with AppRuntime(container):
            embedder = container.embedder()
            assert not inspect.isawaitable(embedder), embedder
            assert not inspect.isawaitable(container.long_term_memory()._embedder)


class Journal:
    """Makes a container's client resource write down when it opens and closes."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def record(self, resource: Any, name: str, *, fails: bool = False) -> None:
        @asynccontextmanager
        async def open_client() -> AsyncIterator[str]:
            if fails:
                raise ConfigurationError(f"{name} cannot open")
            self.lines.append(f"open {name}")
            yield name
            self.lines.append(f"close {name}")

        resource.set_provides(open_client).clear_args()


async def test_clients_open_in_order_and_close_in_reverse(tmp_path: Path) -> None:
    container = make_container(make_settings(tmp_path))
    journal = Journal()
    journal.record(container.infrastructure_package.database, "database")
    journal.record(container.models_package.llm_http, "llm")
    for _ in range(2):
        async with AppRuntime(container):
            assert container.infrastructure_package.database() == "database"  # plain
    assert journal.lines == ["open database", "open llm", "close llm", "close database"] * 2


async def test_a_client_that_cannot_open_closes_those_already_open(tmp_path: Path) -> None:
    container = make_container(make_settings(tmp_path))
    journal = Journal()
    journal.record(container.infrastructure_package.database, "database")
    journal.record(container.models_package.llm_http, "llm", fails=True)
    with pytest.raises(ConfigurationError, match="llm cannot open"):
        async with AppRuntime(container):
            pass
    assert journal.lines == ["open database", "close database"]
    assert not container.background_tasks().running
