"""Prompt rendering: a render served from the rendered-result cache (the in-process
`Cache`) against a cold render of the same prompt and values (bind + sandboxed Jinja, no
cache), on the shipped `system` prompt and on a loop-heavy template."""

from __future__ import annotations

import tempfile
from pathlib import Path

from adapters.inprocess.cache import InProcessCache
from adapters.prompts import YamlPromptSource
from application.prompts import PromptManager
from bench.harness import Row, compare

LOOPY = """version: 1.0.0
variables:
  user: {type: string}
  memories: {type: list}
template: |
  You are talking to {{ user }}. What you remember:
  {% for m in memories %}
  {{ loop.index }}. {{ m|trim|capitalize }}{{ '' if m.endswith('.') else '.' }}
  {% endfor %}
"""


async def _row(directory: Path, name: str, variables: dict[str, object], label: str) -> Row:
    cold = PromptManager(YamlPromptSource(directory), cache=None)
    cached = PromptManager(YamlPromptSource(directory), cache=InProcessCache(), cache_ttl=3600)
    await cached.render(name, variables)  # fill the cache once

    async def hit() -> None:
        await cached.render(name, variables)

    async def render() -> None:
        await cold.render(name, variables)

    subject, baseline = await compare(hit, render, n=3000)
    return Row(
        f"prompt render, {label} (cached)",
        subject,
        baseline,
        "cold render (no cache)",
        "bind + sha256 key + cache get",
    )


async def run() -> list[Row]:
    rows = [
        await _row(
            Path("config/prompts"),
            "system",
            {"user": "ada", "date": "2026-03-14", "tone": "warm"},
            "shipped system prompt",
        )
    ]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "loopy.yaml").write_text(LOOPY)
        memories = [f"memory number {i} about the user's plans for the week" for i in range(50)]
        rows.append(
            await _row(Path(tmp), "loopy", {"user": "ada", "memories": memories}, "50-item loop")
        )
    return rows
