"""`/v1/chat/completions` without `conversation_id`: the request's earlier messages are the
turn's history (clients that re-send the conversation keep their context)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)

from container import Container
from tests.api.conftest import FakeLLM, running
from tests.api.test_openai_compat import Sdk
from tests.conftest import Api


@pytest.fixture
async def sdk(container: Container) -> AsyncIterator[Sdk]:
    async with running(container) as (app, http):
        headers = await Api(http).signup("ada")
        sdk = Sdk(app, http, headers["Authorization"].removeprefix("Bearer "))
        async with sdk.transport:
            yield sdk


TRANSCRIPT = [
    {"role": "system", "content": "Answer like a pirate."},
    {"role": "user", "content": "my name is Ada"},
    {"role": "assistant", "content": "ahoy Ada"},
    {"role": "user", "content": "what is my name?"},
]


async def test_earlier_messages_are_the_history(sdk: Sdk, llm: FakeLLM) -> None:
    done = await sdk.client.chat.completions.create(model="assistant", messages=TRANSCRIPT)
    assert done.choices[0].message.content == "echo: what is my name? (turn 2)"
    seen = llm.seen[-1]
    system = [p.content for m in seen for p in m.parts if isinstance(p, SystemPromptPart)]
    assert "Answer like a pirate." in system  # honoured as extra instructions
    replies = [p.content for m in seen if isinstance(m, ModelResponse) for p in m.parts]
    assert replies == ["ahoy Ada"]

    # The turn is stored like any other: the user's message, then the reply.
    cid = (done.model_extra or {})["conversation_id"]
    r = await sdk.http.get(
        f"/api/v1/conversations/{cid}/messages",
        headers={"Authorization": f"Bearer {sdk.token}"},
    )
    stored = [(m["role"], m["content"]) for m in r.json()["items"]]
    assert stored == [
        ("user", "what is my name?"),
        ("assistant", "echo: what is my name? (turn 2)"),
    ]


async def test_streamed_turns_see_the_history_too(sdk: Sdk, llm: FakeLLM) -> None:
    stream = await sdk.client.chat.completions.create(
        model="assistant", messages=TRANSCRIPT, stream=True
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "echo: what is my name? (turn 2)"


async def test_a_stored_conversation_wins_over_the_request(sdk: Sdk, llm: FakeLLM) -> None:
    first = await sdk.client.chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "one"}]
    )
    cid = (first.model_extra or {})["conversation_id"]
    second = await sdk.client.chat.completions.create(
        model="assistant",
        messages=[*TRANSCRIPT[:3], {"role": "user", "content": "two"}],
        extra_body={"conversation_id": cid},
    )
    assert second.choices[0].message.content == "echo: two (turn 2)"
    seen = llm.seen[-1]
    replies = [p.content for m in seen if isinstance(m, ModelResponse) for p in m.parts]
    assert replies == ["echo: one (turn 1)"]  # not "ahoy Ada"


async def test_tool_exchanges_are_mapped(sdk: Sdk, llm: FakeLLM) -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    await sdk.client.chat.completions.create(
        model="assistant",
        messages=[
            {"role": "user", "content": "look it up"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "42"},
            {"role": "assistant", "content": "it is 42"},
            {"role": "user", "content": "thanks"},
        ],
    )
    seen = llm.seen[-1]
    calls = [p for m in seen for p in m.parts if isinstance(p, ToolCallPart)]
    returns = [p for m in seen for p in m.parts if isinstance(p, ToolReturnPart)]
    assert [(c.tool_name, c.tool_call_id) for c in calls] == [("lookup", "c1")]
    assert [(r.tool_name, r.content) for r in returns] == [("lookup", "42")]
    texts = [p.content for m in seen for p in m.parts if isinstance(p, TextPart)]
    assert "it is 42" in texts
    assert isinstance(seen[-1], ModelRequest)


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
        [{"role": "wizard", "content": "a"}, {"role": "user", "content": "b"}],
        [{"role": "tool", "tool_call_id": "x", "content": "1"}, {"role": "user", "content": "b"}],
        [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "1"},
            {"role": "user", "content": "b"},
        ],
        [
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "user", "content": "b"},
        ],
    ],
    ids=["ends-on-assistant", "unknown-role", "orphan-result", "bad-args", "unanswered-call"],
)
async def test_malformed_transcripts_are_refused(
    sdk: Sdk, llm: FakeLLM, messages: list[dict[str, object]]
) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        await sdk.client.chat.completions.create(model="assistant", messages=messages)  # type: ignore[arg-type]
    body = refused.value.body
    assert isinstance(body, dict) and body["code"] == "VALIDATION_FAILED"
    assert body["details"]["field"] == "messages"
    assert llm.seen == []  # refused before the model, and nothing stored


async def test_a_long_transcript_is_fitted_to_the_policy(sdk: Sdk, llm: FakeLLM) -> None:
    messages: list[dict[str, str]] = []
    for i in range(30):
        messages += [
            {"role": "user", "content": f"q{i}"},
            {"role": "assistant", "content": f"a{i}"},
        ]
    messages.append({"role": "user", "content": "last"})
    await sdk.client.chat.completions.create(model="assistant", messages=messages)  # type: ignore[arg-type]
    seen = llm.seen[-1]
    texts = [p.content for m in seen for p in m.parts if isinstance(p, TextPart | ToolReturnPart)]
    assert "a29" in texts and "a0" not in texts  # the newest kept, the oldest dropped
    assert len([m for m in seen if isinstance(m, ModelResponse)]) < 30
