"""The context layout keeps each request's prefix equal to the previous one (issue 14).

Every shipped agent (config/agents) runs `bench.prefix_share.USER_TURNS` (32 turns) as one
conversation through `SendMessage`, with the real LM Studio adapter in front of the
benchmark's recording transport (`bench/bench_prefix.py`: it renders each request as a
llama.cpp-style server evaluates it). Companion recalls memories every turn; folds happen.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bench.bench_prefix import SHIPPED, RecordingServer, conversation
from bench.prefix_share import USER_TURNS
from domain.memory.truncation import SUMMARY_PREFIX

GOAL = 0.85  # the median share equal to the previous request's prefix


#: A date at day granularity may be in the instructions (it changes at midnight only): one
#: that changed between two turns of this test is not a failure; a time of day would be.
DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b(?![T:\d])")


def stable_part(body: dict[str, Any]) -> tuple[list[str], str]:
    """The instructions (system messages other than the summary) and the tool definitions."""
    instructions = [
        DAY.sub("<day>", str(m.get("content")))
        for m in body["messages"]
        if m["role"] in ("system", "developer")
        and not str(m.get("content")).startswith(SUMMARY_PREFIX)
    ]
    return instructions, json.dumps(body.get("tools"), sort_keys=True)


async def test_shipped_agents_are_all_tested() -> None:
    assert set(SHIPPED) >= {"assistant", "companion", "timekeeper"}


@pytest.mark.parametrize("agent", SHIPPED)
async def test_each_request_extends_the_previous_one(agent: str) -> None:
    server = RecordingServer()
    log = await conversation(agent, old=False, server=server)
    assert len(log.shares) >= len(USER_TURNS) >= 30
    assert log.median_share >= GOAL, f"{agent}: median share {log.median_share:.2f}"
    assert log.other_requests >= 1, "the history was folded at least once (summary request)"
    first = stable_part(server.chats[0])
    assert first[0], "the instructions are sent"
    for turn, body in enumerate(server.chats[1:], start=2):
        assert stable_part(body) == first, f"{agent}: instructions or tools changed at turn {turn}"


async def test_the_old_sliding_layout_misses_the_goal() -> None:
    """The same measure on the layout before issue 14 (the check can fail)."""
    log = await conversation("assistant", old=True)
    assert log.median_share < 0.5
