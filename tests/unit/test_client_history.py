"""A client's transcript as the turn's history: mapping and fitting (whole exchanges)."""

from __future__ import annotations

import pytest
from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)

from application.agents.client_history import (
    ClientMessage,
    ClientToolCall,
    client_history,
    fit,
    split_model_turn,
    split_turn,
    to_model_messages,
)
from domain.agents.models import HistoryPolicy
from domain.errors import ValidationFailed


def exchange(i: int) -> list[ClientMessage]:
    return [ClientMessage("user", f"q{i}"), ClientMessage("assistant", f"a{i}")]


def test_split_turn_takes_the_last_user_message() -> None:
    message, earlier = split_turn([*exchange(0), ClientMessage("user", "now")])
    assert message == "now" and [m.text for m in earlier] == ["q0", "a0"]
    with pytest.raises(ValidationFailed) as refused:
        split_turn(exchange(0))
    assert refused.value.details == {"field": "messages", "index": 1}


def test_roles_map_to_pydantic_ai_messages() -> None:
    call = ClientToolCall("c1", "lookup", '{"q": 1}')
    history = to_model_messages(
        [
            ClientMessage("developer", "be brief"),
            ClientMessage("user", "look"),
            ClientMessage("assistant", "", (call,)),
            ClientMessage("tool", "42", tool_call_id="c1"),
            ClientMessage("assistant", "it is 42"),
        ]
    )
    assert isinstance(history[0], ModelRequest)
    assert isinstance(history[0].parts[0], SystemPromptPart)
    assert isinstance(history[1].parts[0], UserPromptPart)
    tool_call = history[2].parts[0]
    assert isinstance(tool_call, ToolCallPart) and tool_call.args_as_dict() == {"q": 1}
    returned = history[3].parts[0]
    assert isinstance(returned, ToolReturnPart) and returned.tool_name == "lookup"
    assert isinstance(history[4], ModelResponse) and history[4].parts == [TextPart("it is 42")]


def test_fitting_keeps_the_newest_whole_exchanges_and_pins_system() -> None:
    transcript = [ClientMessage("system", "rules")]
    for i in range(10):
        transcript += exchange(i)
    kept = client_history(transcript, HistoryPolicy(max_messages=5, max_tokens=10_000))
    texts = [p.content for m in kept for p in m.parts if hasattr(p, "content")]
    # 4 messages fit beside the turn's own one: the two newest exchanges, system first.
    assert texts == ["rules", "q8", "a8", "q9", "a9"]


def test_a_tool_exchange_is_never_split() -> None:
    call = ClientToolCall("c1", "f", "{}")
    transcript = to_model_messages(
        [
            ClientMessage("user", "q"),
            ClientMessage("assistant", "", (call,)),
            ClientMessage("tool", "r", tool_call_id="c1"),
            ClientMessage("assistant", "a"),
        ]
    )
    assert fit(transcript, HistoryPolicy(max_messages=4, max_tokens=10_000)) == []
    assert fit(transcript, HistoryPolicy(max_messages=5, max_tokens=10_000)) == transcript
    assert fit(transcript, HistoryPolicy(max_messages=50, max_tokens=5)) == []


def test_split_model_turn_needs_a_user_prompt_last() -> None:
    history = [ModelRequest(parts=[UserPromptPart("a")]), ModelResponse(parts=[TextPart("b")])]
    with pytest.raises(ValidationFailed):
        split_model_turn(history)
    message, earlier = split_model_turn([*history, ModelRequest(parts=[UserPromptPart("c")])])
    assert message == "c" and earlier == history
