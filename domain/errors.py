"""The framework's error hierarchy.

Every failure a user can see is a `MAIError`: a stable UPPER_SNAKE `code`, a human
`message`, structured `details` and whether retrying may help. Adapters translate
driver errors into these; each entrypoint maps them to its transport in one place
(REST maps the class to an HTTP status in `entrypoints/rest/errors.py`; GraphQL and the CLI
use `code`). The domain names what went wrong, never how a transport reports it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MAIError(Exception):
    """Base of every error the framework reports to a user."""

    code: ClassVar[str] = "INTERNAL_ERROR"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retryable: bool | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}
        self.retryable = self.default_retryable if retryable is None else retryable
        if code is not None:
            self.code = code  # type: ignore[misc]  # instance override of the class default

    def to_dict(self) -> dict[str, Any]:
        """The contract's error body: ``{"error": {...}}``."""
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
                "retryable": self.retryable,
            }
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ValidationFailed(MAIError):
    code = "VALIDATION_FAILED"


class BadRequest(MAIError):
    code = "BAD_REQUEST"


class PayloadTooLarge(MAIError):
    code = "PAYLOAD_TOO_LARGE"


class AuthenticationFailed(MAIError):
    code = "AUTHENTICATION_FAILED"


class PermissionDenied(MAIError):
    code = "PERMISSION_DENIED"


class NotFound(MAIError):
    code = "NOT_FOUND"


class Conflict(MAIError):
    code = "CONFLICT"


class RateLimited(MAIError):
    code = "RATE_LIMITED"
    default_retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        if retry_after is not None:
            self.details.setdefault("retry_after", retry_after)


class ServiceUnavailable(MAIError):
    code = "SERVICE_UNAVAILABLE"
    default_retryable = True


class CacheUnavailable(ServiceUnavailable):
    """The cache (Redis) cannot answer right now.

    Never fatal: everything in the cache can be rebuilt or recomputed, so a caller catches
    this and degrades (to the database, or to computing the value again).
    """

    code = "CACHE_UNAVAILABLE"


class ModelUnavailable(ServiceUnavailable):
    code = "MODEL_UNAVAILABLE"


class ModelOutputInvalid(MAIError):
    code = "MODEL_OUTPUT_INVALID"


class UsageLimitExceeded(MAIError):
    code = "USAGE_LIMIT_EXCEEDED"


class ToolFailed(MAIError):
    code = "TOOL_FAILED"


class PromptError(MAIError):
    code = "PROMPT_ERROR"


class PipelineError(MAIError):
    code = "PIPELINE_ERROR"


class ConfigurationError(MAIError):
    """A setting is missing or invalid; `details["variable"]` names it."""

    code = "CONFIGURATION_ERROR"


class PipelineInvalid(PipelineError):
    """A pipeline's definition is wrong (unknown dependency, cycle, dead stage, types that
    do not connect); `details["problems"]` lists each problem with the stages it names."""

    code = "PIPELINE_INVALID"


class StageFailed(PipelineError):
    """A pipeline stage raised; recorded on the stage's result, never raised to a caller."""

    code = "STAGE_FAILED"


class StageTimeout(StageFailed):
    """A stage attempt ran longer than its `timeout`; counts as a (retryable) failure."""

    code = "STAGE_TIMEOUT"
    default_retryable = True


class PromptNotFound(NotFound):
    """No prompt of that name, or not in the pinned version."""

    code = "PROMPT_NOT_FOUND"


class PromptInvalidVariables(PromptError):
    """Variables missing, unknown or of the wrong type; `details["problems"]` lists each."""

    code = "PROMPT_INVALID_VARIABLES"


class PromptRenderFailed(PromptError):
    """The sandbox refused or the template failed (unsafe access, a limit, an undefined)."""

    code = "PROMPT_RENDER_FAILED"
