"""What an agent is (its definition) and what a chat turn produces (usage, result);
the events of a streamed turn are in `domain.agents.events`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.model_params import ModelParams
from domain.prompts.refs import PromptRef

AGENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
DEFAULT_MAX_MESSAGE_CHARS = 32_000


class TurnLimits(BaseModel):
    """Per-turn limits so a looping model or tool cannot run away."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model_requests: int = Field(default=5, ge=1, le=100)
    tool_calls: int = Field(default=10, ge=0, le=200)
    total_tokens: int | None = Field(default=None, ge=1)
    output_retries: int = Field(default=2, ge=0, le=10)


class HistoryPolicy(BaseModel):
    """How much of the conversation the agent sees each turn, and how it is laid out.

    `layout: prefix_cache` (the default) keeps the history append-only between folds, so
    a local server's prefix cache reuses the previous request (`domain.memory.folding`);
    `sliding` is the earlier rule: the newest messages that fit, one more dropped per turn,
    recalled memories and the summary before the history.

    The defaults are the shipped agents' values: a fold keeps half the budget and the next
    one comes when less than 15 % is free, so 10 messages folded every ~3 turns (each fold
    re-reads the whole prompt); 40 messages / 2500 tokens fold every ~8-15 turns and leave
    room for the instructions, the message and the reply in a 4096-token context.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_messages: int = Field(default=40, ge=0, le=1000)
    max_tokens: int = Field(default=2500, ge=0, le=1_000_000)
    layout: Literal["prefix_cache", "sliding"] = "prefix_cache"


class MemoryPolicy(BaseModel):
    """How an agent uses the user's long-term memory."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    recall_k: int = Field(default=0, ge=0, le=20)  # memories recalled into each turn; 0 = off
    min_score: float = Field(default=0.0, ge=0, le=1)  # recalled only at or above this score
    episodes: bool = False  # write each completed turn as an episodic memory
    extract_facts: bool = False  # an LLM lists durable facts after each turn (add-only)


class AgentDefinition(BaseModel):
    """An agent as users declare it (YAML under config/agents/ or from Python)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    instructions: str = "You are a helpful assistant."
    output_type: str = "text"  # "text" or the name of a registered Pydantic model
    tools: tuple[str, ...] = ()
    # A Pydantic AI model string (`openai:gpt-4o`, `anthropic:…`, `ollama:…`), or a model
    # on the local server (`NAME` or `local:NAME`); None = the local server's default.
    model: str | None = None
    model_settings: ModelParams = ModelParams()
    limits: TurnLimits = TurnLimits()
    history: HistoryPolicy = HistoryPolicy()
    memory: MemoryPolicy = MemoryPolicy()
    # Instructions from a prompt file instead of `instructions`: "name" (latest) or
    # "name@1.2.0" (pinned), rendered each turn with these fixed values plus the turn's
    # `user`, `date` and `memories` (see README "Prompts").
    prompt: str | None = None
    prompt_variables: dict[str, Any] = Field(default_factory=dict)

    @field_validator("prompt")
    @classmethod
    def _prompt_ref(cls, v: str | None) -> str | None:
        return None if v is None else str(PromptRef.parse(v))

    @field_validator("name")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not AGENT_NAME_RE.match(v):
            raise ValueError("must be 2-64 chars of lowercase letters, digits, '-' or '_'")
        return v


@dataclass(frozen=True, slots=True)
class TurnUsage:
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    # Of `input_tokens`, those the server served from its prompt cache, where it says
    # (OpenAI's `usage.prompt_tokens_details.cached_tokens`); 0 when it does not.
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "tool_calls": self.tool_calls,
            "cached_tokens": self.cached_tokens,
        }


@dataclass(frozen=True, slots=True)
class TurnResult:
    conversation_id: UUID
    message_id: UUID
    output: Any
    usage: TurnUsage
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    # Set when the turn paused for a person to approve tool calls (then `output` is None
    # and `message_id` is the user's waiting message).
    pending_approval: dict[str, Any] | None = None
