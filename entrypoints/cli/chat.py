"""`mai chat`: a streamed turn in the terminal, run in-process through the container.

The reply goes to stdout as it is written (so `mai chat "…" > answer.txt` keeps just the
answer); tool calls and the conversation id go to stderr, dimmed.
"""

from __future__ import annotations

import json
import secrets
from contextlib import aclosing
from typing import TYPE_CHECKING, Any
from uuid import UUID

from rich.console import Console
from rich.markup import escape

from domain.agents.events import (
    ChatEvent,
    DeltaEvent,
    ErrorEvent,
    ToolCallEvent,
    ToolResultEvent,
)
from domain.errors import NotFound, PermissionDenied, ValidationFailed
from domain.identity.models import User, validate_username
from entrypoints.streaming import relay

if TYPE_CHECKING:
    from container import Container

LOCAL_USER = "local"
LOCAL_EMAIL = "local@mai.localhost"
RESULT_PREVIEW_CHARS = 200


def parse_conversation(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(
            f"--conversation {value!r} is not a conversation id.",
            details={"field": "conversation"},
        ) from None


async def chat_user(container: Container, username: str) -> User:
    """The user to chat as. The default local user is created on first use, with a random
    password nobody sees (it signs in only through the CLI, which runs in-process)."""
    name = validate_username(username)
    user: User | None = await container.users().get_by_username(name)
    if user is None:
        if name != LOCAL_USER:
            raise NotFound(
                f"No user {name!r}; create one with `mai users create`.",
                details={"username": name},
            )
        password = secrets.token_urlsafe(24) + "a1"  # the policy wants a letter and a digit
        user = await container.register_user().execute(LOCAL_USER, LOCAL_EMAIL, password)
    if not user.is_active:
        raise PermissionDenied(f"User {name!r} is deactivated.")
    return user


class ChatSession:
    """One conversation with one agent, turn after turn."""

    def __init__(
        self,
        container: Container,
        out: Console,
        err: Console,
        agent: str,
        conversation_id: UUID | None = None,
    ) -> None:
        self._container = container
        self._out = out
        self._err = err
        self.agent = agent
        self.conversation_id = conversation_id
        self._user: User | None = None
        self._mid_line = False

    async def start(self, username: str) -> None:
        """Resolve the user and the agent before the first prompt (fail early)."""
        self._user = await chat_user(self._container, username)
        self._container.agent_catalog().definition(self.agent)

    async def say(self, message: str) -> None:
        """One streamed turn; an ERROR event is raised as the `MAIError` it reports."""
        assert self._user is not None, "start() first"
        events = await self._container.stream_message().execute(
            self._user.id, self.agent, message, self.conversation_id, username=self._user.username
        )
        try:
            async with aclosing(relay(events)) as stream:
                async for event in stream:
                    self.conversation_id = event.conversation_id
                    self._render(event)
                    if isinstance(event, ErrorEvent):
                        raise event.as_error()
        finally:
            self._end_line()

    def show_conversation(self) -> None:
        if self.conversation_id is not None:
            self._err.print(
                f"[dim]conversation {self.conversation_id} "
                f"(continue with --conversation {self.conversation_id})[/]",
                highlight=False,
                soft_wrap=True,
            )

    def _render(self, event: ChatEvent) -> None:
        if isinstance(event, DeltaEvent):
            self._out.print(event.text, end="", markup=False, highlight=False, soft_wrap=True)
            self._mid_line = True
        elif isinstance(event, ToolCallEvent):
            self._end_line()
            self._dim(f"⚙ {event.name}({json.dumps(event.args, default=str)})")
        elif isinstance(event, ToolResultEvent):
            self._end_line()
            self._dim(f"  → {_preview(event.result)}")

    def _dim(self, text: str) -> None:
        self._err.print(f"[dim]{escape(text)}[/]", highlight=False, soft_wrap=True)

    def _end_line(self) -> None:
        if self._mid_line:
            self._out.print()
            self._mid_line = False


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= RESULT_PREVIEW_CHARS else text[: RESULT_PREVIEW_CHARS - 1] + "…"
