"""The prefix-cache layout against the real bundled llama.cpp server (SmolLM2-135M).

Two servers, one per layout, so each keeps its own KV cache while the two conversations
advance turn by turn in alternation (the same machine load hits both). Each drives the
shipped `assistant` agent through `SendMessage` for up to 25 turns: the old layout (sliding
10-message window, `history.layout: sliding`) and the new one (`prefix_cache`). After each
turn (and the summaries it triggers, drained) the server's own log says how many prompt
tokens it evaluated (`llama_perf_context_print: prompt eval time = … / N tokens`).

Bounded: replies and summaries are capped (`MAX_REPLY_TOKENS`, `MAX_SUMMARY_TOKENS`, the
same for both layouts), and the run stops after `MAI_BENCH_LLM_SECONDS` (default 1500 s)
with the turns both layouts completed. Skipped (no row) when llama-cpp-python or the
model is not installed (`make local-llm`).
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from dependency_injector import providers

from adapters.lmstudio import LMStudioModels, open_http_client
from adapters.settings import LMStudioSettings
from application.summarizer import AgentSummarizer
from bench.harness import Row, Timing
from bench.prefix_share import USER_TURNS, old_layout
from container import Container
from runtime import AppRuntime
from tests.conftest import make_container, make_settings
from tests.integration.conftest import MODEL_ALIAS, die_with_parent, free_port, llm_command
from tests.integration.conftest import model_path as gguf_path

TURNS = 25
MAX_REPLY_TOKENS = 48
MAX_SUMMARY_TOKENS = 64
AGENT = "assistant"
PROMPT_EVAL = re.compile(r"prompt eval time =\s*[\d.]+ ms /\s*(\d+) tokens")
REMAINING = re.compile(r"(\d+) prefix-match hit, remaining (\d+) prompt tokens to eval")
REQUEST_DONE = "POST /v1/chat/completions"


def evaluated_per_request(log: str) -> list[int]:
    """Prompt tokens the server evaluated for each request, from its log: the
    "N prefix-match hit, remaining M prompt tokens to eval" line when it reused a prefix,
    else the whole prompt ("prompt eval time = … / N tokens"). The perf line alone is not
    enough: after a prefix hit it sometimes repeats the count with a near-zero time."""
    counts: list[int] = []
    current: int | None = None
    for line in log.splitlines():
        if (hit := REMAINING.search(line)) is not None:
            current = int(hit.group(2))
        elif (whole := PROMPT_EVAL.search(line)) is not None and current is None:
            current = int(whole.group(1))
        elif REQUEST_DONE in line:
            counts.append(current or 0)
            current = None
    return counts


@dataclass
class Side:
    """One layout's conversation on its own server."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    container: Container
    user_id: UUID
    conversation_id: UUID | None = None
    offset: int = 0
    evaluated: list[int] = field(default_factory=list)  # prompt tokens per turn
    seconds: list[float] = field(default_factory=list)  # the chat request per turn

    def new_evaluations(self) -> list[int]:
        with self.log.open("rb") as f:
            f.seek(self.offset)
            text = f.read().decode("utf-8", "replace")
            self.offset = f.tell()
        return evaluated_per_request(text)


def _start(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = llm_command(gguf_path(), port)
    threads = str(max(1, (os.cpu_count() or 2) // 2))  # two servers share the cores
    for flag in ("--n_threads", "--n_threads_batch"):
        command[command.index(flag) + 1] = threads
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, preexec_fn=die_with_parent
        )
    return process, f"http://127.0.0.1:{port}/v1"


async def _ready(url: str, process: subprocess.Popen[bytes], http: object) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the llama.cpp server exited during start-up")
        try:
            response = await http.get(f"{url}/models")  # type: ignore[attr-defined]
            if response.status_code == 200:
                return
        except Exception:
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError("the llama.cpp server did not start within 120 s")


async def _side(name: str, old: bool, workdir: Path) -> Side:
    log = workdir / f"{name}.log"
    process, url = _start(log)
    settings = LMStudioSettings(
        base_url=url, model=MODEL_ALIAS, timeout_seconds=900, structured_output="json_object"
    )
    http = open_http_client(settings)
    await _ready(url, process, http)
    models = LMStudioModels(settings, http)
    container = make_container(make_settings(agents={"dir": "config/agents"}))
    container.model_source.override(providers.Object(models))
    container.summarizer.override(
        providers.Object(AgentSummarizer(models, max_tokens=MAX_SUMMARY_TOKENS))
    )
    await AppRuntime(container).open()
    catalog = container.agent_catalog()
    definition = catalog.definition(AGENT)
    if old:
        definition = old_layout(definition)
    capped = definition.model_settings.model_copy(update={"max_tokens": MAX_REPLY_TOKENS})
    catalog.register(definition.model_copy(update={"model_settings": capped}))
    user = await container.register_user().execute(name, f"{name}@example.com", "password123")
    return Side(name, process, log, container, user.id)


async def _turn(side: Side, text: str) -> None:
    side.new_evaluations()  # skip start-up lines
    started = time.perf_counter()
    done = await side.container.send_message().execute(
        side.user_id, AGENT, text, side.conversation_id, username="ada"
    )
    side.seconds.append(time.perf_counter() - started)
    side.conversation_id = done.conversation_id
    await side.container.background_tasks().drain()  # the fold, if any, between turns
    side.evaluated.append(sum(side.new_evaluations()))


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def measure(budget_seconds: float) -> tuple[Side, Side] | None:
    if importlib.util.find_spec("llama_cpp") is None or not gguf_path().is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="mai-bench-llama-") as tmp:
        old = await _side("old", True, Path(tmp))
        try:
            new = await _side("new", False, Path(tmp))
            try:
                started = time.monotonic()
                for text in USER_TURNS[:TURNS]:
                    await _turn(old, text)
                    await _turn(new, text)
                    if time.monotonic() - started > budget_seconds:
                        break
            finally:
                _stop(new.process)
        finally:
            _stop(old.process)
    return old, new


def _row(old: Side, new: Side) -> Row:
    total_old, total_new = sum(old.evaluated), sum(new.evaluated)
    note = (
        f"{len(new.evaluated)} turns, SmolLM2-135M, replies <= {MAX_REPLY_TOKENS} tokens; "
        f"prompt tokens evaluated per turn p50 {statistics.median(old.evaluated):.0f} -> "
        f"{statistics.median(new.evaluated):.0f}, total {total_old} -> {total_new} "
        f"({total_old / max(1, total_new):.1f}x fewer, summaries included)"
    )
    return Row(
        f"llama.cpp turn ({AGENT}), prefix-cache layout vs old layout",
        Timing(new.seconds),
        Timing(old.seconds),
        "old layout (sliding, 10 messages), same run",
        note,
    )


async def run() -> list[Row]:
    budget = float(os.environ.get("MAI_BENCH_LLM_SECONDS", "1500"))
    sides = await measure(budget)
    return [] if sides is None else [_row(*sides)]


if __name__ == "__main__":
    result = asyncio.run(measure(float(os.environ.get("MAI_BENCH_LLM_SECONDS", "1500"))))
    if result is not None:
        old, new = result
        print(_row(old, new).note)
        print("old per turn:", old.evaluated, [round(s, 1) for s in old.seconds])
        print("new per turn:", new.evaluated, [round(s, 1) for s in new.seconds])
