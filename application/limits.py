"""API protection: per-user and per-IP limits on the expensive and the guessable routes.

Counted by the `RateLimiter` port (Redis in production: atomic and shared by every API
process). Over a limit is `RATE_LIMITED` (429, `retry_after`). A limiter that cannot answer
lets the request through (logged): an outage of the cache must not take the API down.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from domain.errors import CacheUnavailable, RateLimited
from domain.ports import RateLimiter

log = structlog.get_logger("mai.limits")


@dataclass(frozen=True, slots=True)
class Rate:
    calls: int
    period: float


@dataclass(frozen=True, slots=True)
class LimitPolicy:
    enabled: bool
    login_per_ip: Rate
    login_per_user: Rate
    register_per_ip: Rate
    chat_per_user: Rate
    chat_per_ip: Rate


class ApiLimits:
    def __init__(self, limiter: RateLimiter, policy: LimitPolicy) -> None:
        self._limiter = limiter
        self.policy = policy

    async def _hit(self, key: str, rate: Rate, what: str) -> None:
        if not self.policy.enabled:
            return
        try:
            decision = await self._limiter.hit(key, rate.calls, rate.period)
        except CacheUnavailable:
            log.warning("rate_limiter_unavailable", limit=what)
            return
        if not decision.allowed:
            raise RateLimited(
                f"Too many {what}; try again in {max(1, round(decision.retry_after))} s.",
                retry_after=decision.retry_after,
                details={"limit": rate.calls, "period": rate.period, "scope": what},
            )

    async def login(self, ip: str, username: str) -> None:
        """Every attempt counts, per address and per account (slows password guessing
        against one account from many addresses, and many accounts from one)."""
        await self._hit(f"login:ip:{ip}", self.policy.login_per_ip, "login attempts")
        account = username.strip().lower()[:64]
        await self._hit(f"login:user:{account}", self.policy.login_per_user, "login attempts")

    async def register(self, ip: str) -> None:
        await self._hit(f"register:ip:{ip}", self.policy.register_per_ip, "registrations")

    async def chat(self, ip: str, user_id: object) -> None:
        await self._hit(f"chat:user:{user_id}", self.policy.chat_per_user, "chat turns")
        await self._hit(f"chat:ip:{ip}", self.policy.chat_per_ip, "chat turns")
