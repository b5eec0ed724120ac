"""JWT access and refresh tokens, verified per RFC 8725.

The algorithm is pinned on verify (never read from the token header), `alg: none` and
every other algorithm are refused, and `exp`, `iat`, `sub`, `jti`, `typ`, `sid`, `iss` and
`aud` are all required. A refresh token is never accepted where an access token is expected.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import jwt

from domain.errors import AuthenticationFailed
from domain.identity.models import TokenClaims

REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "typ", "sid", "iss", "aud"]
LEEWAY_SECONDS = 5


class JWTTokenService:
    def __init__(
        self,
        secret_key: str,
        *,
        algorithm: str = "HS256",
        issuer: str = "mai-framework",
        audience: str = "mai-api",
        access_minutes: int = 15,
        refresh_days: int = 14,
    ) -> None:
        if len(secret_key) < 32:
            raise ValueError("JWT secret key must be at least 32 characters")
        self._key = secret_key
        self._alg = algorithm
        self._iss = issuer
        self._aud = audience
        self._lifetimes = {
            "access": timedelta(minutes=access_minutes),
            "refresh": timedelta(days=refresh_days),
        }

    @property
    def access_lifetime_seconds(self) -> int:
        return int(self._lifetimes["access"].total_seconds())

    def issue(
        self, user_id: UUID, session_id: UUID, token_type: str, jti: str, now: datetime
    ) -> tuple[str, datetime]:
        expires = now + self._lifetimes[token_type]
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": jti,
            "typ": token_type,
            "iss": self._iss,
            "aud": self._aud,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(claims, self._key, algorithm=self._alg), expires

    def verify(self, token: str, expected_type: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self._alg:
                raise AuthenticationFailed("Token algorithm is not accepted.")
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._alg],
                audience=self._aud,
                issuer=self._iss,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed(
                "Token has expired.", details={"reason": "expired"}
            ) from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(
                "Token is invalid.", details={"reason": type(exc).__name__}
            ) from None
        if claims["typ"] != expected_type:
            raise AuthenticationFailed(
                f"Expected an {expected_type} token.", details={"reason": "wrong_token_type"}
            )
        try:
            return TokenClaims(
                user_id=UUID(claims["sub"]),
                session_id=UUID(claims["sid"]),
                jti=str(claims["jti"]),
                token_type=claims["typ"],
                expires_at=datetime.fromtimestamp(claims["exp"], UTC),
            )
        except (ValueError, TypeError):
            raise AuthenticationFailed(
                "Token is invalid.", details={"reason": "bad_claims"}
            ) from None
