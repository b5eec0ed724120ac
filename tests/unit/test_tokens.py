"""RFC 8725 attacks on the token service: each one must be refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt
import pytest

from adapters.security.passwords import BcryptPasswordHasher
from adapters.security.tokens import JWTTokenService
from domain.errors import AuthenticationFailed

KEY = "k" * 40
NOW = datetime.now(UTC)


@pytest.fixture
def service() -> JWTTokenService:
    return JWTTokenService(KEY)


def claims(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "sub": str(uuid4()),
        "sid": str(uuid4()),
        "jti": "j",
        "typ": "access",
        "iss": "mai-framework",
        "aud": "mai-api",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_issued_tokens_verify(service: JWTTokenService) -> None:
    user, session = uuid4(), uuid4()
    now = datetime.now(UTC)  # verify checks against the real clock: not the import-time NOW
    token, expires = service.issue(user, session, "access", "jti-1", now)
    c = service.verify(token, "access")
    assert (c.user_id, c.session_id, c.jti, c.token_type) == (user, session, "jti-1", "access")
    assert expires > now


ATTACKS = {
    "alg none": lambda: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims())}.",
    "wrong alg HS512": lambda: jwt.encode(claims(), KEY, algorithm="HS512"),
    "wrong key": lambda: jwt.encode(claims(), "x" * 40, algorithm="HS256"),
    "expired": lambda: jwt.encode(claims(exp=int((NOW - timedelta(minutes=5)).timestamp())), KEY),
    "missing aud": lambda: jwt.encode(claims(aud=None), KEY),
    "wrong aud": lambda: jwt.encode(claims(aud="other"), KEY),
    "missing iss": lambda: jwt.encode(claims(iss=None), KEY),
    "wrong iss": lambda: jwt.encode(claims(iss="evil"), KEY),
    "missing jti": lambda: jwt.encode(claims(jti=None), KEY),
    "missing exp": lambda: jwt.encode(claims(exp=None), KEY),
    "refresh as access": lambda: jwt.encode(claims(typ="refresh"), KEY),
    "bad sub": lambda: jwt.encode(claims(sub="not-a-uuid"), KEY),
    "garbage": lambda: "not.a.jwt",
    "empty": lambda: "",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attack_tokens_are_rejected(service: JWTTokenService, attack: str) -> None:
    with pytest.raises(AuthenticationFailed):
        service.verify(ATTACKS[attack](), "access")


def test_tampered_signature_is_rejected(service: JWTTokenService) -> None:
    token, _ = service.issue(uuid4(), uuid4(), "access", "j", NOW)
    head, body, sig = token.split(".")
    forged_body = b64({**json.loads(base64.urlsafe_b64decode(body + "==")), "sub": str(uuid4())})
    with pytest.raises(AuthenticationFailed):
        service.verify(f"{head}.{forged_body}.{sig}", "access")


def test_short_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32"):
        JWTTokenService("short")


def test_bcrypt_hasher_round_trip_and_garbage() -> None:
    hasher = BcryptPasswordHasher(rounds=4)
    h = hasher.hash("password123")
    assert h.startswith("$2b$04$")
    assert hasher.verify("password123", h)
    assert not hasher.verify("password124", h)
    assert not hasher.verify("password123", "not-a-hash")
    assert BcryptPasswordHasher().rounds == 12
