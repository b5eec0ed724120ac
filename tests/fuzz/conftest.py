"""Shared pieces of the bad-input suite (issue #10): one app configuration with every
kind of user-owned thing (conversations, approvals, memories, pipeline runs), users to
attack each other with, and the contract's error shape as an assertion."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from adapters.settings import Settings
from container import Container
from tests.api.conftest import with_model
from tests.api.test_tools_api import BANKER, TOOL_AGENTS
from tests.conftest import make_container, make_settings
from tests.fixtures import demo_tools
from tests.prompt_fakes import PROMPT_FIXTURES

FIXTURES = Path(__file__).parent.parent / "fixtures"
PIPELINES = FIXTURES / "pipelines"
UPPER_SNAKE = re.compile(r"^[A-Z][A-Z0-9_]*$")
MAX_BODY = 64 * 1024  # API__MAX_BODY_BYTES of the fuzzed app: small, so 413 is cheap


def fuzz_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Agents `assistant` and `banker` (an approval-gated `transfer`), the demo tools, the
    fixture prompts (with the sandbox-escape templates) and pipelines."""
    base: dict[str, Any] = {
        "agents": {"dir": str(TOOL_AGENTS)},
        "tools": {"modules": ["tests.fixtures.demo_tools"]},
        "prompts": {"dir": str(PROMPT_FIXTURES)},
        "pipelines": {"dir": str(PIPELINES)},
        "api": {"max_body_bytes": MAX_BODY},
    }
    return make_settings(tmp_path, **{**base, **overrides})


def fuzz_container(tmp_path: Path, model: Any = BANKER, **overrides: Any) -> Container:
    demo_tools.CALLS.update(slow_square=0, transfer=0)
    return with_model(make_container(fuzz_settings(tmp_path, **overrides)), model)


def assert_contract_error(body: Any, code: str | None = None) -> dict[str, Any]:
    """`body` is exactly `{"error": {code, message, details, retryable}}`; its error."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details", "retryable"}, error
    assert isinstance(error["code"], str) and UPPER_SNAKE.match(error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["details"], dict) and isinstance(error["retryable"], bool), error
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


def assert_error_response(
    r: httpx.Response, status: int | set[int], code: str | None = None
) -> dict[str, Any]:
    statuses = {status} if isinstance(status, int) else status
    assert r.status_code in statuses, (r.status_code, r.text[:500])
    assert r.headers["content-type"].startswith("application/json"), r.headers
    return assert_contract_error(r.json(), code)


def assert_graphql_errors(body: Any, code: str | None = None) -> list[dict[str, Any]]:
    """A GraphQL response with errors, each carrying an UPPER_SNAKE `extensions.code` and
    the contract's error object in `extensions.error`."""
    assert isinstance(body, dict) and body.get("errors"), body
    for error in body["errors"]:
        extensions = error.get("extensions") or {}
        assert UPPER_SNAKE.match(str(extensions.get("code", ""))), error
        assert_contract_error({"error": extensions.get("error")})
        assert extensions["error"]["code"] == extensions["code"], error
        assert extensions["code"] != "INTERNAL_ERROR", error
        if code is not None:
            assert extensions["code"] == code, error
    return list(body["errors"])
