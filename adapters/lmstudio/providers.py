"""`model:` as a Pydantic AI model string: another provider for one agent.

`openai:gpt-4o`, `anthropic:claude-…`, `google:gemini-…`, `groq:…`, `ollama:…` (any prefix
Pydantic AI's `infer_model` knows) go to that provider, keys from its usual environment
variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, `GOOGLE_API_KEY`, `GROQ_API_KEY`;
`OLLAMA_BASE_URL` for Ollama). Pydantic AI 1.x's Google prefixes still work: `google-gla:` is
the Gemini API (`google:` now), `google-vertex:` is Vertex AI (`google-cloud:`). A name
without a prefix, or with `local:`, is a model on the configured local server (so a local
name with a colon, like `qwen2.5:7b`, is written `local:qwen2.5:7b`). The Anthropic, Google
and Groq SDKs are installed (pyproject's pydantic-ai-slim extras); other providers' may not be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from domain.errors import ConfigurationError

if TYPE_CHECKING:
    from pydantic_ai.models import Model

LOCAL_PREFIX = "local:"
#: Pydantic AI 1.x's names for the two Google providers, renamed in 2.x.
RENAMED_PREFIXES = {"google-gla:": "google:", "google-vertex:": "google-cloud:"}


def is_provider_model(name: str | None) -> bool:
    """True for `provider:model`; False for a local server's model (or the default)."""
    return bool(name) and ":" in str(name) and not str(name).startswith(LOCAL_PREFIX)


def local_name(name: str) -> str:
    return name.removeprefix(LOCAL_PREFIX)


def provider_model(name: str) -> Model:
    """The provider's model; `ConfigurationError` for an unknown provider, a missing key
    or a provider whose package is not installed. No network call."""
    from pydantic_ai.exceptions import UserError  # Pydantic AI: when a model is built
    from pydantic_ai.models import infer_model

    current = name
    for old, new in RENAMED_PREFIXES.items():
        if name.startswith(old):
            current = new + name.removeprefix(old)
    try:
        return infer_model(current)
    except (UserError, ImportError, ValueError) as exc:
        reason = str(exc).split(". ")[0].rstrip(".")
        raise ConfigurationError(
            f"model {name!r}: {reason}. Use `local:NAME` for a model on the local server.",
            details={"field": "model", "model": name},
        ) from None
