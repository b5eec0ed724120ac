"""A chat turn before it runs: checked, its conversation found, its history and memories
laid out for the model. `TurnPreparer` makes no writes, so a refused turn leaves no trace;
every chat use-case (whole, streamed, UI protocols, resumed after an approval) starts from
the `Turn` it builds.

Failure behaviour: bad input (empty, oversized, more than the model's context can take),
an unknown agent or conversation raise their `MAIError` before anything is stored; a
memory recall that fails is logged and the turn goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    SystemPromptPart,
)

from application.agents.budgeting import fitted_history
from application.agents.catalog import AgentCatalog
from application.agents.client_history import fit
from application.agents.history import summary_message, to_model_messages
from application.agents.runner import AgentDeps, AgentRunner
from application.conversation_window import ConversationWindow, FittedWindow
from application.memory import LongTermMemory
from domain.agents.models import AgentDefinition, MemoryPolicy
from domain.conversations.models import Conversation, Message, Role, title_from
from domain.conversations.ports import ConversationStore
from domain.errors import MAIError, NotFound, PayloadTooLarge, ValidationFailed
from domain.tools.models import Approval

log = structlog.get_logger("mai.chat")


@dataclass
class Turn:
    """One turn as it goes: what it runs on, and how far it got."""

    runner: AgentRunner[Any]
    conversation: Conversation
    user_message: Message
    deps: AgentDeps
    history: list[ModelMessage]
    new_conversation: bool
    window: FittedWindow | None  # the window it was fitted from (None: no stored window)
    resumed: bool = False  # a turn paused for approval, now running again
    prompt: str | None = None  # what the model gets as this turn's message (None = stored text)
    stored: bool = False  # the user's message is in the store (a failure can be recorded)
    started: float = 0.0  # when the run began (perf_counter), for the turn's metrics
    finished: bool = False  # its outcome (reply, or pause for approval) is recorded

    @property
    def model_prompt(self) -> str:
        return self.prompt if self.prompt is not None else self.user_message.content


def sliding(runner: AgentRunner[Any]) -> bool:
    """The earlier layout: recalled memories before the history (`HistoryPolicy.layout`)."""
    return runner.definition.history.layout == "sliding"


def reaches_memory(definition: AgentDefinition) -> bool:
    """Whether a turn of this agent can use the user's long-term memory: it recalls
    memories (into the turn or its prompt), writes the turn to memory, or has tools (which
    reach it through `deps.memory`). Else the memory use-case is not built for the turn."""
    policy = definition.memory
    return bool(policy.recall_k or policy.episodes or policy.extract_facts or definition.tools)


class TurnPreparer:
    def __init__(
        self,
        agents: AgentCatalog,
        conversations: ConversationStore,
        max_message_chars: int,
        window: ConversationWindow,
        memory: Callable[[], LongTermMemory | None] = lambda: None,
    ) -> None:
        self._agents = agents
        self._store = conversations
        self._max_chars = max_message_chars
        self._window = window
        self._memory = memory

    async def prepare(
        self,
        user_id: UUID,
        agent: str,
        message: str,
        conversation_id: UUID | None,
        username: str | None = None,
        client_history: Sequence[ModelMessage] | None = None,
    ) -> Turn:
        """Everything that can refuse the turn, with no writes.

        `client_history`: the earlier messages of a client that keeps the conversation itself
        (OpenAI clients, UI protocols); the history of a new conversation's first turn,
        fitted to the agent's policy. A stored conversation named by `conversation_id` wins."""
        self._check(message)
        runner = self._agents.get(agent)
        conversation = await self._conversation(user_id, agent, message, conversation_id)
        user_message = Message(conversation_id=conversation.id, role=Role.USER, content=message)
        memory = self._memory() if reaches_memory(runner.definition) else None
        deps = AgentDeps(user_id=user_id, conversation_id=conversation.id, memory=memory)
        if username:  # a prompt may greet the user by name (`user` variable)
            deps.extras["username"] = username
        note = await self._recalled(runner.definition.memory, deps, message)
        prompt = f"{note}\n\n{message}" if note and not sliding(runner) else None
        # the model's real context: refuse what cannot fit (413), clamp the history budget
        policy = await fitted_history(runner, prompt or message)
        history: list[ModelMessage] = []
        loaded: FittedWindow | None = None
        if conversation_id is not None:
            loaded = await self._window.load(user_id, conversation.id, policy)
            history = summary_message(loaded.summary) + to_model_messages(loaded.messages)
        elif client_history:
            history = fit(client_history, policy)
        if note and sliding(runner):
            history = [ModelRequest(parts=[SystemPromptPart(content=note)]), *history]
        # else the note went after the stable part, with the new message: cached prefix
        new = conversation_id is None
        return Turn(runner, conversation, user_message, deps, history, new, loaded, prompt=prompt)

    async def resume(self, user_id: UUID, approval: Approval) -> Turn:
        """The turn an approval paused, from its stored run state: its user's message is
        already stored (waiting), the run goes on where it stopped."""
        conversation = await self._store.get(user_id, approval.conversation_id)
        if conversation is None:
            raise NotFound(
                "Conversation not found.",
                details={"conversation_id": str(approval.conversation_id)},
            )
        runner = self._agents.get(approval.agent_name)
        user_message = Message(
            conversation_id=conversation.id,
            role=Role.USER,
            content=approval.prompt,
            id=approval.message_id,
        )
        deps = AgentDeps(user_id=user_id, conversation_id=conversation.id, memory=self._memory())
        history = ModelMessagesTypeAdapter.validate_json(approval.state)
        return Turn(
            runner, conversation, user_message, deps, history, False, None, True, stored=True
        )

    def _check(self, message: str) -> None:
        if not message.strip():
            raise ValidationFailed("Message is empty.", details={"field": "message"})
        if len(message) > self._max_chars:
            raise PayloadTooLarge(
                f"Message is longer than {self._max_chars} characters.",
                details={"field": "message", "limit": self._max_chars, "length": len(message)},
            )

    async def _conversation(
        self, user_id: UUID, agent: str, message: str, conversation_id: UUID | None
    ) -> Conversation:
        """The turn's conversation: the caller's stored one, or a new one (not yet stored)."""
        if conversation_id is None:
            return Conversation(user_id=user_id, agent_name=agent, title=title_from(message))
        found = await self._store.get(user_id, conversation_id)
        if found is None:
            raise NotFound(
                "Conversation not found.", details={"conversation_id": str(conversation_id)}
            )
        return found

    async def _recalled(self, policy: MemoryPolicy, deps: AgentDeps, message: str) -> str:
        """The user's most relevant memories as a note for the model ('' if none).

        Placed by the history layout: `prefix_cache` puts it in this turn's user message,
        after the history (a note that changes each turn must not precede what is cached);
        `sliding` puts it as a system note before the history (the earlier layout)."""
        if policy.recall_k == 0 or deps.memory is None:
            return ""
        try:
            # twice k: this conversation's own episodes are left out below
            found = await deps.memory.retrieve(deps.user_id, message, k=2 * policy.recall_k)
        except MAIError as exc:  # memory trouble never fails a turn
            log.warning("memory_recall_failed", code=exc.code)
            return ""
        kept = [
            i.memory.content
            for i in found.items
            if i.score >= policy.min_score
            # already in the history or its summary: repeating it only costs tokens
            and i.memory.source_conversation_id != deps.conversation_id
        ][: policy.recall_k]
        deps.extras["memories"] = kept  # a prompt may place them itself (`memories` variable)
        notes = [f"- {content}" for content in kept]
        if not notes:
            return ""
        return "What you remember about this user (may be relevant):\n" + "\n".join(notes)
