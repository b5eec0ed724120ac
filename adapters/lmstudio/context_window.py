"""The model's context window, from whichever endpoint the server offers.

Checked per server (2026-12): LM Studio's REST API lists `max_context_length` (and, for a
loaded model, `loaded_context_length`) under `GET /api/v0/models`; llama.cpp's C++
`llama-server` reports `n_ctx` under `GET /props` (`default_generation_settings.n_ctx`);
llama-cpp-python's server (the bundled one) has neither, and its `/v1/models` does not
say either: there the configured `LM_STUDIO__CONTEXT_TOKENS` is the only source.

LM Studio loads a model on its first request (JIT loading) with a context of its own
choosing, usually far below the model's trained maximum: until then only
`max_context_length` is known. That value is used, but marked provisional
(`ContextWindow.final` False) so the caller asks again rather than keeping it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx2

from adapters.lmstudio.client import NO_RETRY

PROBE_TIMEOUT_SECONDS = 3.0


def server_root(base_url: str) -> str:
    """`http://host:1234/v1` -> `http://host:1234` (where the non-OpenAI endpoints live)."""
    return base_url.removesuffix("/").removesuffix("/v1")


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class ContextWindow:
    """A context window in tokens; `final` False: LM Studio's trained maximum for a model
    that is not loaded yet (the loaded context, once it is, may well be smaller)."""

    tokens: int
    final: bool = True


def from_lmstudio(body: Any, model: str) -> ContextWindow | None:
    entries = body.get("data") if isinstance(body, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("id") == model:
            loaded = _positive(entry.get("loaded_context_length"))
            if loaded is not None:
                return ContextWindow(loaded)
            trained = _positive(entry.get("max_context_length"))
            return ContextWindow(trained, final=False) if trained is not None else None
    return None


def from_llama_server(body: Any) -> ContextWindow | None:
    if not isinstance(body, dict):
        return None
    settings = body.get("default_generation_settings")
    nested = settings.get("n_ctx") if isinstance(settings, dict) else None
    found = _positive(nested) or _positive(body.get("n_ctx"))
    return ContextWindow(found) if found is not None else None


async def discover_context_window(
    http: httpx2.AsyncClient, base_url: str, model: str, headers: dict[str, str]
) -> ContextWindow | None:
    """Ask LM Studio's model list, then llama-server's /props; None when neither says."""
    root = server_root(base_url)

    def lmstudio(body: Any) -> ContextWindow | None:
        return from_lmstudio(body, model)

    probes: list[tuple[str, Callable[[Any], ContextWindow | None]]] = [
        (f"{root}/api/v0/models", lmstudio),
        (f"{root}/props", from_llama_server),
    ]
    for url, read in probes:
        try:
            response = await http.get(
                url,
                headers=headers,
                timeout=PROBE_TIMEOUT_SECONDS,
                extensions={NO_RETRY: True},
            )
            if response.status_code == 200:
                found = read(response.json())
                if found is not None:
                    return found
        except (httpx2.HTTPError, ValueError):
            continue
    return None
