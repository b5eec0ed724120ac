"""Personal API keys: long-lived bearer credentials a user makes for scripts and clients.

A key is `mai_` followed by 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: with that much entropy a fast hash is safe (nobody can guess their way back), and it
makes the lookup one indexed equality on every request. A slow password hash (bcrypt) would
cost a login's price on every API call (hundreds of ms at cost 12, BENCHMARKS.md) for no
gain. The first characters (`prefix`) are kept in clear so a user can tell their keys apart
in a list.

A key is checked against the database on every request, so revoking it (or its expiry) takes
effect at once on every server process; its last use is recorded at most once a minute, so
a busy script does not turn every read into a write.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.errors import ValidationFailed
from domain.identity.models import utcnow

KEY_PREFIX = "mai_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8  # "mai_" and 8 characters: shown in lists
MAX_NAME_LENGTH = 100
MAX_EXPIRY_DAYS = 3650
LAST_USED_RESOLUTION = timedelta(minutes=1)


def looks_like_api_key(token: str) -> bool:
    """API keys and JWTs are told apart by shape (a JWT starts with `ey`)."""
    return token.startswith(KEY_PREFIX)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def validate_key_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(
            f"A key's name must be 1-{MAX_NAME_LENGTH} characters.", details={"field": "name"}
        )
    return name


def expiry(now: datetime, days: int | None) -> datetime | None:
    """When a key made `now` for `days` days expires (None: never)."""
    if days is None:
        return None
    if not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ValidationFailed(
            f"expires_in_days must be between 1 and {MAX_EXPIRY_DAYS}.",
            details={"field": "expires_in_days"},
        )
    return now + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class ApiKey:
    user_id: UUID
    name: str
    prefix: str
    key_hash: str
    id: UUID = field(default_factory=uuid4)
    created_at: datetime = field(default_factory=utcnow)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and not self.is_expired(now)

    def needs_touch(self, now: datetime) -> bool:
        """Whether this use should be recorded (at most once per LAST_USED_RESOLUTION)."""
        return self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION

    def to_public(self, now: datetime) -> dict[str, Any]:
        """What its owner may see: never the key nor its hash."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "last_used_at": self.last_used_at,
            "expired": self.is_expired(now),
        }
