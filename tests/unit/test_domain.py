from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.conversations.models import title_from
from domain.errors import MAIError, ModelUnavailable, NotFound, RateLimited, ValidationFailed
from domain.health import AdapterHealth, Readiness
from domain.identity.models import (
    AuthSession,
    check_password_policy,
    normalize_email,
    password_problems,
    validate_username,
)
from domain.pagination import Cursor, clamp_page_size
from entrypoints.rest.errors import http_status


def test_error_body_has_the_contract_shape() -> None:
    err = NotFound("Conversation not found.", details={"id": "x"})
    assert err.to_dict() == {
        "error": {
            "code": "NOT_FOUND",
            "message": "Conversation not found.",
            "details": {"id": "x"},
            "retryable": False,
        }
    }
    assert http_status(err) == 404


def test_retryable_defaults_follow_the_kind_of_error() -> None:
    assert ModelUnavailable("down").retryable is True
    assert http_status(ModelUnavailable("down")) == 503
    assert RateLimited("slow down", retry_after=2.5).details == {"retry_after": 2.5}
    assert MAIError("x", retryable=True, code="CUSTOM").code == "CUSTOM"


def test_readiness_ignores_optional_adapters_but_reports_degraded() -> None:
    db = AdapterHealth("database", True, "sqlite")
    cache_down = AdapterHealth("cache", False, "redis", required=False)
    r = Readiness((db, cache_down))
    assert r.ready and r.degraded and r.status == "degraded"
    assert Readiness((AdapterHealth("database", False, "pg"),)).status == "unavailable"
    assert Readiness((db,)).status == "ok"


def test_cursor_round_trips_and_rejects_garbage() -> None:
    c = Cursor(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), uuid4())
    assert Cursor.decode(c.encode()) == c
    for bad in ["", "not-base64!!", "Zm9v", Cursor(c.at, c.id).encode()[:-3]]:
        with pytest.raises(ValidationFailed):
            Cursor.decode(bad)


def test_page_size_is_clamped() -> None:
    assert clamp_page_size(500) == 100
    with pytest.raises(ValidationFailed):
        clamp_page_size(0)


@pytest.mark.parametrize("name", ["al", "-abc", "a b", "x" * 33, "héllo"])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed):
        validate_username(name)


def test_email_is_normalized_and_checked() -> None:
    assert normalize_email("  Ada@Example.COM ") == "ada@example.com"
    with pytest.raises(ValidationFailed):
        normalize_email("not-an-email")


def test_password_policy_lists_every_problem() -> None:
    assert password_problems("password123") == []
    assert len(password_problems("short")) == 2
    assert "at most 72 bytes" in password_problems("a1" * 40)
    with pytest.raises(ValidationFailed) as info:
        check_password_policy("abcdefgh")
    assert info.value.details["problems"] == ["at least one letter and one digit"]


def test_session_activity_and_rotation() -> None:
    now = datetime.now(UTC)
    s = AuthSession(user_id=uuid4(), refresh_jti="a", expires_at=now + timedelta(days=1))
    assert s.is_active(now)
    assert not s.is_active(now + timedelta(days=2))
    r = s.rotated("b", timedelta(days=3), now)
    assert r.refresh_jti == "b" and r.id == s.id and r.expires_at == now + timedelta(days=3)


def test_title_is_first_line_shortened() -> None:
    assert title_from("hello\nworld") == "hello"
    assert len(title_from("x" * 200)) == 60
    assert title_from("   ") == ""
