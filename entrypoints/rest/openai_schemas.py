"""The OpenAI Chat Completions wire shapes the `/v1` endpoints speak (the subset we serve).

Requests accept, and ignore, the OpenAI parameters an agent does not take per call
(temperature, max_tokens, tools…): the agent's definition sets those.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.agents.models import TurnUsage
from domain.user_input import check_value
from entrypoints.rest.schemas import Text

if TYPE_CHECKING:  # its module maps to Pydantic AI's messages: imported on the first call
    from application.agents.client_history import ClientMessage


class FunctionCallIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: Text
    arguments: Annotated[str, AfterValidator(check_value)] = "{}"


class ToolCallIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: Text
    type: str = "function"
    function: FunctionCallIn


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Text
    content: Annotated[str | list[dict[str, Any]] | None, AfterValidator(check_value)] = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: Text | None = None

    def to_client(self) -> ClientMessage:
        from application.agents.client_history import ClientMessage, ClientToolCall

        calls = tuple(
            ClientToolCall(c.id, c.function.name, c.function.arguments)
            for c in self.tool_calls or []
        )
        return ClientMessage(self.role, self.text(), calls, self.tool_call_id)

    def text(self) -> str:
        """The message's text: a string, or the text parts of a content list joined."""
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return "".join(
            str(p.get("text", "")) for p in parts if p.get("type") in ("text", "input_text")
        )


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatCompletionIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: Text = Field(description="The agent to run (GET /v1/models lists them).")
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    conversation_id: UUID | None = Field(
        default=None,
        description=(
            "MAI extension: continue this stored conversation (the `conversation_id` of an "
            "earlier response); the stored messages are then the history and the request's "
            "earlier messages are ignored. Without it the request's earlier messages are the "
            "history and the turn is stored in a new conversation. "
            "With the openai SDK: `extra_body={'conversation_id': ...}`."
        ),
    )

    def turn(self) -> tuple[str, list[ClientMessage]]:
        """The turn's message (the last, a `user` message) and the messages before it."""
        from application.agents.client_history import split_turn

        return split_turn([m.to_client() for m in self.messages])

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "mai"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, usage: TurnUsage) -> CompletionUsage:
        return cls(
            prompt_tokens=usage.input_tokens,
            completion_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
        )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage
    conversation_id: UUID = Field(description="MAI extension: pass it back to continue.")


def chunk(
    completion_id: str,
    created: int,
    model: str,
    conversation_id: UUID,
    delta: dict[str, Any] | None,
    finish_reason: str | None = None,
    usage: CompletionUsage | None = None,
) -> dict[str, Any]:
    """One `chat.completion.chunk`; `delta=None` makes the choice-less usage chunk."""
    body: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        "conversation_id": str(conversation_id),
    }
    if usage is not None:
        body["usage"] = usage.model_dump()
    return body
