"""/conversations: a user's own conversations; anyone else's id answers 404."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from entrypoints.rest.deps import ContainerDep, CurrentUser
from entrypoints.rest.errors import ERROR_RESPONSES
from entrypoints.rest.schemas import ConversationOut, ConversationPage, MessageOut, MessagePage

router = APIRouter(prefix="/conversations", tags=["conversations"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=100)]
After = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=ConversationPage)
async def list_conversations(
    user: CurrentUser, container: ContainerDep, limit: Limit = 20, after: After = None
) -> ConversationPage:
    page = await container.list_conversations().execute(user.id, limit, after)
    return ConversationPage(
        items=[ConversationOut.of(c) for c in page.items], next_cursor=page.next_cursor
    )


@router.get("/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: UUID, user: CurrentUser, container: ContainerDep
) -> ConversationOut:
    return ConversationOut.of(await container.get_conversation().execute(user.id, conversation_id))


@router.get("/{conversation_id}/messages", response_model=MessagePage)
async def list_messages(
    conversation_id: UUID,
    user: CurrentUser,
    container: ContainerDep,
    limit: Limit = 50,
    after: After = None,
) -> MessagePage:
    page = await container.list_messages().execute(user.id, conversation_id, limit, after)
    return MessagePage(items=[MessageOut.of(m) for m in page.items], next_cursor=page.next_cursor)


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(
    conversation_id: UUID, user: CurrentUser, container: ContainerDep
) -> None:
    await container.delete_conversation().execute(user.id, conversation_id)
