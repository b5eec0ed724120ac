"""The container can be opened, closed and opened again (an app's lifespan run twice, as
schemathesis and Starlette's TestClient do): what a test overrode stays a plain value."""

from __future__ import annotations

import inspect
from pathlib import Path

from container import close_resources, open_resources
from tests.conftest import make_container, make_settings


async def test_an_overridden_resource_stays_plain_after_a_second_opening(tmp_path: Path) -> None:
    container = make_container(make_settings(tmp_path))
    for _ in range(2):
        await open_resources(container)
        embedder = container.embedder()
        assert not inspect.isawaitable(embedder), embedder
        assert not inspect.isawaitable(container.long_term_memory()._embedder)
        await close_resources(container)
