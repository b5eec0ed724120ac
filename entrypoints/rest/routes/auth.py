"""/auth and /users: sign-up, sign-in, refresh, sign-out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from entrypoints.rest.deps import ContainerDep, CurrentClaims, CurrentUser, client_ip
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import LoginIn, RefreshIn, RegisterIn, TokenOut, UserOut

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
async def register(body: RegisterIn, request: Request, container: ContainerDep) -> UserOut:
    await container.api_limits().register(client_ip(request))
    user = await container.register_user().execute(body.username, body.email, body.password)
    return UserOut.of(user)


@router.post("/auth/login", response_model=TokenOut)
async def login(body: LoginIn, request: Request, container: ContainerDep) -> TokenOut:
    """Attempts are limited per address and per account (`429` + `Retry-After`)."""
    await container.api_limits().login(client_ip(request), body.username)
    return TokenOut.of(await container.login().execute(body.username, body.password))


@router.post("/auth/refresh", response_model=TokenOut)
async def refresh(body: RefreshIn, container: ContainerDep) -> TokenOut:
    return TokenOut.of(await container.refresh_tokens().execute(body.refresh_token))


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(claims: CurrentClaims, container: ContainerDep) -> None:
    await container.logout().execute(claims)


@router.get("/users/me", response_model=UserOut, tags=["users"])
async def me(user: CurrentUser) -> UserOut:
    return UserOut.of(user)
