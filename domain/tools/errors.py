"""Errors of the tools capability."""

from __future__ import annotations

from domain.errors import Conflict, MAIError, NotFound, PermissionDenied, RateLimited


class ToolNotFound(NotFound):
    code = "TOOL_NOT_FOUND"


class ToolDisabled(PermissionDenied):
    """The tool exists but is switched off, or the agent is not allowed to use it."""

    code = "TOOL_DISABLED"


class DuplicateTool(Conflict):
    code = "TOOL_EXISTS"


class ToolTimeout(MAIError):
    code = "TOOL_TIMEOUT"
    default_retryable = True


class ToolRateLimited(RateLimited):
    code = "RATE_LIMITED"


class RetryableToolError(MAIError):
    """Raise from a tool for a transient failure: `with_retry` retries these (and any
    `MAIError` marked retryable); other exceptions fail at once."""

    code = "TOOL_FAILED"
    default_retryable = True


class ApprovalNotFound(NotFound):
    code = "APPROVAL_NOT_FOUND"


class ApprovalResolved(Conflict):
    code = "APPROVAL_ALREADY_RESOLVED"
