"""Pydantic AI's run errors, translated into the framework's error codes."""

from __future__ import annotations

from pydantic_ai import exceptions as pai

from domain.errors import (
    MAIError,
    ModelOutputInvalid,
    ModelUnavailable,
    RateLimited,
    UsageLimitExceeded,
    ValidationFailed,
)


def translate_run_error(exc: BaseException) -> MAIError | None:
    """The user-facing error for a failed agent run, or None if it is a bug to re-raise."""
    if isinstance(exc, MAIError):
        return exc
    if isinstance(exc, pai.UsageLimitExceeded):
        return UsageLimitExceeded(f"The turn hit a usage limit: {exc}")
    if isinstance(exc, pai.UnexpectedModelBehavior):
        return ModelOutputInvalid(
            "The model's output was not valid after retries.", details={"reason": str(exc)[:300]}
        )
    if isinstance(exc, pai.ModelRateLimitError):
        return RateLimited("The model server is rate limiting; try again shortly.")
    if isinstance(exc, pai.ModelContextWindowExceededError):
        return ValidationFailed("The conversation is too long for the model's context window.")
    if isinstance(exc, pai.ModelNotFoundError):
        return ModelUnavailable(
            "The configured model is not available on the LLM server.", retryable=False
        )
    if isinstance(exc, pai.ModelAPIError | pai.RunTimedOut | TimeoutError | ConnectionError):
        return ModelUnavailable(
            "The language model is unavailable right now.",
            details={"reason": type(exc).__name__},
        )
    return None
