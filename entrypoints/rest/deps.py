"""FastAPI dependencies: the container, and who is calling."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from container import Container
from domain.errors import AuthenticationFailed, PermissionDenied
from domain.identity.models import TokenClaims, User
from entrypoints.log_fields import bind_user

bearer = HTTPBearer(
    auto_error=False,
    description="An access token from POST /api/v1/auth/login, or a personal API key (mai_…)",
)


async def get_container(request: Request) -> Container:
    """Async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
    hop on every request for a dictionary lookup (issue #15)."""
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def _authenticate(
    container: ContainerDep, credentials: Credentials
) -> tuple[User, TokenClaims]:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("Missing bearer token.", details={"reason": "missing_token"})
    user, claims = await container.authenticate().execute(credentials.credentials)
    bind_user(user.id)
    return user, claims


Principal = Annotated[tuple[User, TokenClaims], Depends(_authenticate)]


async def _current_user(principal: Principal) -> User:
    return principal[0]


async def _current_claims(principal: Principal) -> TokenClaims:
    return principal[1]


async def _current_superuser(principal: Principal) -> User:
    user = principal[0]
    if not user.is_superuser:
        raise PermissionDenied("This needs a superuser.")
    return user


async def _optional_user(container: ContainerDep, credentials: Credentials) -> User | None:
    if credentials is None:
        return None
    user, _ = await container.authenticate().execute(credentials.credentials)
    bind_user(user.id)
    return user


CurrentUser = Annotated[User, Depends(_current_user)]
CurrentClaims = Annotated[TokenClaims, Depends(_current_claims)]
CurrentSuperuser = Annotated[User, Depends(_current_superuser)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]


def client_ip(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy, uvicorn's
    FORWARDED_ALLOW_IPS makes this the forwarded client)."""
    return request.client.host if request.client else "unknown"


async def _chat_limited(request: Request, container: ContainerDep, user: CurrentUser) -> User:
    await container.api_limits().chat(client_ip(request), user.id)
    return user


ChatUser = Annotated[User, Depends(_chat_limited)]
"""The signed-in user, counted against the chat limits (per user and per address)."""
