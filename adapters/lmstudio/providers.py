"""`model:` as a Pydantic AI model string: another provider for one agent.

`openai:gpt-4o`, `anthropic:claude-…`, `google-gla:…`, `groq:…`, `ollama:…` (any prefix
Pydantic AI's `infer_model` knows) go to that provider, keys from its usual environment
variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, …; `OLLAMA_BASE_URL` for Ollama). A name
without a prefix, or with `local:`, is a model on the configured local server (so a local
name with a colon, like `qwen2.5:7b`, is written `local:qwen2.5:7b`). Providers other than
OpenAI-compatible ones need their extra installed (`pydantic-ai-slim[anthropic]`, …).
"""

from __future__ import annotations

from pydantic_ai.exceptions import UserError
from pydantic_ai.models import Model, infer_model

from domain.errors import ConfigurationError

LOCAL_PREFIX = "local:"


def is_provider_model(name: str | None) -> bool:
    """True for `provider:model`; False for a local server's model (or the default)."""
    return bool(name) and ":" in str(name) and not str(name).startswith(LOCAL_PREFIX)


def local_name(name: str) -> str:
    return name.removeprefix(LOCAL_PREFIX)


def provider_model(name: str) -> Model:
    """The provider's model; `ConfigurationError` for an unknown provider, a missing key
    or a provider whose package is not installed. No network call."""
    try:
        return infer_model(name)
    except (UserError, ImportError, ValueError) as exc:
        reason = str(exc).split(". ")[0].rstrip(".")
        raise ConfigurationError(
            f"model {name!r}: {reason}. Use `local:NAME` for a model on the local server.",
            details={"field": "model", "model": name},
        ) from None
