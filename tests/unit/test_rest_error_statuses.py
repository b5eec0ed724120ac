"""The HTTP status each error answers with over REST.

The statuses used to be `status` attributes on the domain errors; they moved to one map in
the REST entrypoint. This table pins what a REST client sees for every error the framework
raises, so the move (and any later edit of the map) cannot change a status unnoticed.
"""

from __future__ import annotations

import pytest

from domain import errors as e
from domain.tools import errors as tool_errors
from entrypoints.rest.errors import HTTP_STATUS, http_status

SEEN_BY_CLIENTS: list[tuple[type[e.MAIError], int]] = [
    (e.MAIError, 500),
    (e.ValidationFailed, 422),
    (e.BadRequest, 400),
    (e.PayloadTooLarge, 413),
    (e.AuthenticationFailed, 401),
    (e.PermissionDenied, 403),
    (e.NotFound, 404),
    (e.Conflict, 409),
    (e.RateLimited, 429),
    (e.ServiceUnavailable, 503),
    (e.CacheUnavailable, 503),
    (e.ModelUnavailable, 503),
    (e.ModelOutputInvalid, 502),
    (e.UsageLimitExceeded, 422),
    (e.ToolFailed, 500),
    (e.PromptError, 422),
    (e.PromptNotFound, 404),
    (e.PromptInvalidVariables, 422),
    (e.PromptRenderFailed, 422),
    (e.PipelineError, 422),
    (e.PipelineInvalid, 422),
    (e.StageFailed, 500),
    (e.StageTimeout, 504),
    (e.ConfigurationError, 500),
    (tool_errors.ToolNotFound, 404),
    (tool_errors.ToolDisabled, 403),
    (tool_errors.DuplicateTool, 409),
    (tool_errors.ToolTimeout, 504),
    (tool_errors.ToolRateLimited, 429),
    (tool_errors.RetryableToolError, 502),
    (tool_errors.ApprovalNotFound, 404),
    (tool_errors.ApprovalResolved, 409),
]


@pytest.mark.parametrize(
    ("error", "status"), SEEN_BY_CLIENTS, ids=[k.__name__ for k, _ in SEEN_BY_CLIENTS]
)
def test_each_error_keeps_its_status(error: type[e.MAIError], status: int) -> None:
    assert http_status(error("x")) == status


def test_the_status_follows_the_class_not_an_overridden_code() -> None:
    """A code set per instance (the CLI's errors decoded from events do this) keeps the
    class's status: the map is keyed by what went wrong, not by the label."""
    assert http_status(e.NotFound("gone", code="THING_NOT_FOUND")) == 404
    assert http_status(e.MAIError("odd", code="NOT_FOUND")) == 500


def test_bad_input_is_never_a_server_error() -> None:
    """CONTRACT.md: 4xx for what the caller sent; the errors of bad input are all 4xx."""
    bad_input = [e.ValidationFailed, e.BadRequest, e.PayloadTooLarge, e.PromptError]
    assert all(400 <= HTTP_STATUS[kind] < 500 for kind in bad_input)
    assert all(status in range(400, 600) for status in HTTP_STATUS.values())


def test_the_domain_holds_no_transport_status() -> None:
    assert not any(hasattr(error, "status") for error, _ in SEEN_BY_CLIENTS)
