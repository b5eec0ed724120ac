"""How much of each chat request a prefix-caching server can reuse, per shipped agent.

Drives a 32-turn conversation through the chat use-case (`SendMessage`) for every agent in
`config/agents/`, with the real LM Studio adapter (`LMStudioModels`: the OpenAI model, the
local-server profile) in front of a recording HTTP transport that answers like a small
local model (text, or a `current_time` call when tools are offered). Each request body
is rendered as the server would evaluate it (`bench.prefix_share.render`) and compared
with the request before it on the same server (summaries included: one slot, one cache).
The old layout (sliding window, memories and summary first, 10 messages) and the new one
(`prefix_cache`) run in the same process; companion recalls memories on every turn.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx2
from dependency_injector import providers

from adapters.lmstudio.client import NullContentTransport
from adapters.lmstudio.models import LMStudioModels
from adapters.settings import LMStudioSettings
from application.memory import NewMemory
from application.summarizer import INSTRUCTIONS as SUMMARIZER_INSTRUCTIONS
from bench.harness import Row, Timing
from bench.prefix_share import (
    SEEDED_MEMORIES,
    USER_TURNS,
    ShareLog,
    old_layout,
    render,
    reply_text,
    summary_text,
)
from domain.memory.long_term import MemoryKind
from runtime import AppRuntime
from tests.conftest import make_container, make_settings

AGENTS_DIR = Path(__file__).resolve().parents[1] / "config" / "agents"
SHIPPED = sorted(p.stem for p in AGENTS_DIR.glob("*.yaml"))


class RecordingServer:
    """An OpenAI-compatible chat endpoint in process: records, answers, counts. `chats`
    keeps the body of every chat request (summaries excluded), in order."""

    def __init__(self) -> None:
        self.log = ShareLog()
        self.chats: list[dict[str, Any]] = []
        self._ids = itertools.count()

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.endswith("/chat/completions"):
            return httpx2.Response(200, json={"object": "list", "data": [{"id": "bench"}]})
        body = json.loads(request.content)
        messages = body["messages"]
        first = str(messages[0].get("content") or "") if messages else ""
        is_summary = first.startswith(SUMMARIZER_INSTRUCTIONS[:40])
        self.log.record(render(body), chat=not is_summary)
        if not is_summary:
            self.chats.append(body)
        n = next(self._ids)
        message: dict[str, Any] = {"role": "assistant", "content": reply_text(n)}
        if is_summary:
            message["content"] = summary_text(n)
        elif body.get("tools") and messages[-1]["role"] == "user":
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{n}",
                        "type": "function",
                        "function": {
                            "name": body["tools"][0]["function"]["name"],
                            "arguments": json.dumps({"timezone": "Europe/Lisbon"}),
                        },
                    }
                ],
            }
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        return httpx2.Response(
            200,
            json={
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )


async def conversation(agent: str, *, old: bool, server: RecordingServer | None = None) -> ShareLog:
    """Drive `USER_TURNS` through `SendMessage` as one conversation with `agent`; the log
    of what `server` (a fresh one unless given) received."""
    server = server if server is not None else RecordingServer()
    http = httpx2.AsyncClient(transport=NullContentTransport(httpx2.MockTransport(server.handle)))
    models = LMStudioModels(
        LMStudioSettings(base_url="http://recorder.invalid/v1", model="bench"), http
    )
    container = make_container(make_settings(agents={"dir": str(AGENTS_DIR)}))
    container.model_source.override(providers.Object(models))
    runtime = AppRuntime(container)
    await runtime.open()
    catalog = container.agent_catalog()
    if old:
        catalog.register(old_layout(catalog.definition(agent)))
    user = await container.register_user().execute("bench", "bench@example.com", "password123")
    memory = container.long_term_memory()
    for fact in SEEDED_MEMORIES:
        await memory.store(user.id, NewMemory(fact, MemoryKind.FACT))
    send = container.send_message()
    conversation_id = None
    for text in USER_TURNS:
        done = await send.execute(user.id, agent, text, conversation_id, username="ada")
        conversation_id = done.conversation_id
        # the user reads and types: background work (episodes, folds) finishes first
        await runtime.tasks.drain()
    await runtime.close()
    await http.aclose()
    return server.log


def _row(agent: str, old: ShareLog, new: ShareLog) -> Row:
    note = (
        f"median share reused {old.median_share:.2f} -> {new.median_share:.2f}; "
        f"median tokens left to evaluate {old.median_left:.0f} -> {new.median_left:.0f}; "
        f"total over {len(new.scored()[0])} turns {old.total_left} -> {new.total_left} "
        f"({old.total_left / max(1, new.total_left):.1f}x fewer); "
        f"summary requests {old.other_requests} -> {new.other_requests}; "
        f"requests with recalled memories {old.with_memories} -> {new.with_memories}"
    )
    # Timing columns carry tokens left to evaluate per turn (not seconds), old as baseline.
    return Row(
        f"prefix cache, {agent}: tokens left to evaluate per turn (new vs old layout)",
        Timing([float(x) for x in new.scored()[1]]),
        Timing([float(x) for x in old.scored()[1]]),
        "old layout (sliding, 10 messages)",
        note,
        unit="tokens",
    )


async def measure() -> dict[str, tuple[ShareLog, ShareLog]]:
    return {a: (await conversation(a, old=True), await conversation(a, old=False)) for a in SHIPPED}


async def run() -> list[Row]:
    results = await measure()
    return [_row(agent, old, new) for agent, (old, new) in results.items()]


if __name__ == "__main__":
    for agent, (old, new) in asyncio.run(measure()).items():
        print(agent, _row(agent, old, new).note)
