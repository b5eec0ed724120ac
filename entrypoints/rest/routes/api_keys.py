"""/api-keys: a user's personal API keys. The key is in the creation response only; lists
show its prefix, expiry and last use. Another user's key id answers 404."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.rest.deps import ContainerDep, CurrentUser, Principal
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import Text

router = APIRouter(prefix="/api-keys", tags=["api-keys"], responses=ERROR_RESPONSES)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650, description="Omit for a key that does not expire."
    )


class ApiKeyOut(BaseModel):
    id: UUID
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart.")
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    expired: bool


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown once, store it now.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create_api_key(
    body: ApiKeyIn, principal: Principal, container: ContainerDep
) -> ApiKeyCreated:
    """Needs a signed-in session (an access token): an API key cannot create keys."""
    user, claims = principal
    made = await container.create_api_key().execute(
        user.id, body.name, body.expires_in_days, claims=claims
    )
    return ApiKeyCreated(**made.to_public(container.clock().now()))


@router.get("", response_model=ApiKeyList)
async def list_api_keys(user: CurrentUser, container: ContainerDep) -> ApiKeyList:
    keys = await container.list_api_keys().execute(user.id)
    now = container.clock().now()
    return ApiKeyList(items=[ApiKeyOut(**k.to_public(now)) for k in keys])


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(key_id: UUID, user: CurrentUser, container: ContainerDep) -> None:
    """Stops the key at once, on every server process."""
    await container.revoke_api_key().execute(user.id, key_id)
