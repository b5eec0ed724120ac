"""Users and their sign-in sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from domain.errors import ValidationFailed

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,31}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything past 72 bytes: refuse rather than truncate


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class User:
    username: str
    email: str
    password_hash: str
    id: UUID = field(default_factory=uuid4)
    is_active: bool = True
    is_superuser: bool = False
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)


def validate_username(username: str) -> str:
    """Usernames are case-insensitive: stored and looked up in lower case."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            "Username must be 3-32 characters: letters, digits, '_', '.', '-', "
            "starting with a letter or digit.",
            details={"field": "username"},
        )
    return username


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ValidationFailed("Email address is not valid.", details={"field": "email"})
    return email


def password_problems(password: str) -> list[str]:
    """Every way `password` breaks the policy (empty list: it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        problems.append(f"at most {MAX_PASSWORD_BYTES} bytes")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        problems.append("at least one letter and one digit")
    return problems


def check_password_policy(password: str) -> None:
    problems = password_problems(password)
    if problems:
        raise ValidationFailed(
            "Password must have " + ", ".join(problems) + ".",
            details={"field": "password", "problems": problems},
        )


@dataclass(frozen=True, slots=True)
class AuthSession:
    """A sign-in: one chain of rotating refresh tokens.

    `refresh_jti` names the only refresh token currently valid. Presenting an older one
    means it was stolen or replayed: the whole session is revoked.
    """

    user_id: UUID
    refresh_jti: str
    expires_at: datetime
    id: UUID = field(default_factory=uuid4)
    created_at: datetime = field(default_factory=utcnow)
    revoked_at: datetime | None = None
    revoked_reason: str | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at

    def rotated(self, new_jti: str, lifetime: timedelta, now: datetime) -> AuthSession:
        return replace(self, refresh_jti=new_jti, expires_at=now + lifetime)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a verified token says."""

    user_id: UUID
    session_id: UUID
    jti: str
    token_type: str  # "access" | "refresh"
    expires_at: datetime
