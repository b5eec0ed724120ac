"""`make bench`: run every benchmark, print a table, and write bench/latest.md.

Each benchmark measures the framework against a baseline in the same process and the
same run (raw pydantic-ai, a bare FastAPI app, …) and reports the ratio.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from adapters.observability.logging import configure_logging
from bench import (
    bench_agents,
    bench_auth,
    bench_context,
    bench_llama,
    bench_memory_index,
    bench_memory_locomo,
    bench_memory_quality,
    bench_memory_search,
    bench_prefix,
    bench_sidebyside,
    bench_streaming,
)
from bench import load as bench_load
from bench import pipelines as bench_pipelines
from bench import prompts as bench_prompts
from bench import tools as bench_tools
from bench.harness import Row

SUITES = {
    "agents": bench_agents.run,
    "streaming": bench_streaming.run,
    "auth": bench_auth.run,
    "context": bench_context.run,
    "memory": bench_memory_index.run,
    "quality": bench_memory_quality.run,
    "memory-search": bench_memory_search.run,
    "locomo": bench_memory_locomo.run,  # LoCoMo's first dev conversation, when present
    "prompts": bench_prompts.run,
    "tools": bench_tools.run,
    "pipelines": bench_pipelines.run,
    "load": bench_load.run,
    "prefix": bench_prefix.run,
    "llama": bench_llama.run,  # the real bundled server: minutes, bounded
    "sidebyside": bench_sidebyside.run,
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def render(rows: list[Row]) -> tuple[Table, str]:
    table = Table(title=f"MAI benchmarks — {machine()}")
    for col in ("benchmark", "p50", "p95", "ops/s", "baseline p50", "ratio", "note"):
        table.add_column(col)
    lines = [
        "| benchmark | p50 | p95 | ops/s | baseline | baseline p50 | ratio | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        base = r.fmt(r.baseline.p50) if r.baseline else "—"
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        cells = [
            r.name,
            r.fmt(r.subject.p50),
            r.fmt(r.subject.p95),
            f"{r.subject.per_second:,.0f}" if r.unit == "s" else "—",
            base,
            ratio,
            r.note,
        ]
        table.add_row(*cells)
        row = [r.name, *cells[1:4], r.baseline_name or "—", base, ratio, r.note]
        lines.append("| " + " | ".join(row) + " |")
    return table, "\n".join(lines)


async def main(selected: list[str]) -> None:
    configure_logging("WARNING", "json")  # measure the framework, not the terminal
    rows: list[Row] = []
    for name, suite in SUITES.items():
        if not selected or name in selected:
            rows += await suite()
    table, markdown = render(rows)
    Console().print(table)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = f"Run {stamp} on {machine()}\n\n{markdown}\n"
    await asyncio.to_thread(Path("bench/latest.md").write_text, report)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
