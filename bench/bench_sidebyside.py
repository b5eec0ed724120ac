"""MAI against the app a user would write instead (issue #15), side by side in one run.

One zero-latency fake OpenAI-compatible LLM server answers both apps over HTTP; each app
runs in a uvicorn process of its own; the driver (this process) runs 10 concurrent
keep-alive clients against one app, then the other, alternating for `ROUNDS` rounds, for
each kind of turn: REST run, SSE stream, `/v1/chat/completions` and the streamed chat over
a WebSocket (MAI's GraphQL `chat` subscription; the baseline's plain `/ws`). The ratio is
MAI's time per turn over the baseline's (wall time of a burst / turns). Then one client,
turn by turn, gives the time to the first token over SSE and the WebSocket.

Profiles: embedded (SQLite file, in-process cache; the baseline: aiosqlite) and, when
PostgreSQL answers at `MAI_BENCH_PG_URL` (default the i15 bench database), PostgreSQL +
Redis (the baseline: asyncpg + a Redis list for the window). Rate limits are off.

    .venv/bin/python -m bench.bench_sidebyside   # or as part of `make bench`
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import httpx

from bench.harness import Row, Timing
from bench.sidebyside import servers
from bench.sidebyside.drive import KINDS, App, Client, burst

PORT = int(os.environ.get("MAI_BENCH_PORT", "8150"))  # fake LLM; baseline +1; MAI +2
PG_URL = os.environ.get(
    "MAI_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/mai_bench_i15"
)
REDIS_URL = os.environ.get("MAI_BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
LOGS = Path(tempfile.gettempdir()) / "mai-sidebyside"  # the servers' output, for a post-mortem
CLIENTS, ROUNDS, TURNS, TTFT_TURNS = 10, 3, 100, 100
# MAI_BENCH_HISTORY=10: MAI's `assistant` shows the model at most that many messages, as
# the hand-written app does (a diagnostic: by default it keeps up to 40 for the server's
# prefix cache, README "Local models at full speed").
HISTORY = os.environ.get("MAI_BENCH_HISTORY")


async def sign_in(mai: str, baseline: str) -> tuple[str, str]:
    name = f"bench{uuid.uuid4().hex[:8]}"
    creds = {"username": name, "password": "password123"}
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{mai}/api/v1/auth/register", json={**creds, "email": f"{name}@e.com"})
        r.raise_for_status()
        r = await http.post(f"{mai}/api/v1/auth/login", json=creds)
        mai_token = str(r.json()["access_token"])
        r = await http.post(f"{baseline}/login", json={"username": name})
        return mai_token, str(r.json()["access_token"])


async def side_by_side(
    profile: str, apps: tuple[App, App], procs: dict[str, servers.Server], llm: servers.Server
) -> list[Row]:
    """The rows of one profile. `procs` are the apps' server processes (by app name) and
    `llm` the fake LLM's: their CPU per turn shows where a turn's time goes (each app's own
    process, and the fake LLM serving it, which shares the machine's cores)."""
    rows: list[Row] = []
    for kind in KINDS:
        per_turn: dict[str, list[float]] = {a.name: [] for a in apps}
        latency: dict[str, list[float]] = {a.name: [] for a in apps}
        app_cpu: dict[str, list[float]] = {a.name: [] for a in apps}
        llm_cpu: dict[str, list[float]] = {a.name: [] for a in apps}
        clients = {a.name: [Client(a) for _ in range(CLIENTS)] for a in apps}
        try:
            for a in apps:  # warm-up: connections, conversations, caches
                await burst(clients[a.name], kind, 2 * CLIENTS)
            for r in range(ROUNDS):
                for a in apps if r % 2 == 0 else apps[::-1]:
                    own, served = procs[a.name].cpu(), llm.cpu()
                    wall, samples = await burst(clients[a.name], kind, TURNS)
                    app_cpu[a.name].append((procs[a.name].cpu() - own) / TURNS)
                    llm_cpu[a.name].append((llm.cpu() - served) / TURNS)
                    per_turn[a.name].append(wall / TURNS)
                    latency[a.name] += samples
        finally:
            for cs in clients.values():
                await asyncio.gather(*(c.close() for c in cs))
        mai, base = (statistics.median(per_turn[a.name]) for a in apps)
        note = f"{1 / mai:.0f} vs {1 / base:.0f} turns/s; 10 clients"
        if kind in ("SSE stream", "WS subscription"):
            note += "; read to the end of the turn"
        rows.append(
            Row(
                f"{profile}: {kind} (MAI vs hand-written app, time per turn)",
                Timing(per_turn[apps[0].name]),
                Timing(per_turn[apps[1].name]),
                "FastAPI + pyjwt + Agent + "
                + ("aiosqlite" if profile == "embedded" else "asyncpg + Redis"),
                note,
            )
        )
        # The fake LLM's share is small against its clock's 10 ms ticks: one figure over
        # all rounds (the mean per turn), not one per burst.
        for what, cpu in (
            ("the app's process", app_cpu),
            ("the fake LLM serving it", {k: [statistics.mean(v)] for k, v in llm_cpu.items()}),
        ):
            rows.append(
                Row(
                    f"{profile}: {kind}, CPU per turn of {what}",
                    Timing(cpu[apps[0].name]),
                    Timing(cpu[apps[1].name]),
                    "the hand-written app",
                    "user + system time over a burst / turns",
                )
            )
    for kind in ("SSE stream", "WS subscription"):
        firsts: dict[str, list[float]] = {a.name: [] for a in apps}
        clients = {a.name: [Client(a)] for a in apps}
        try:
            for i in range(TTFT_TURNS + 10):
                for a in apps:
                    first = await KINDS[kind](clients[a.name][0], f"ttft {i}")
                    if i >= 10:
                        firsts[a.name].append(first)
        finally:
            for cs in clients.values():
                await asyncio.gather(*(c.close() for c in cs))
        m, b = (statistics.median(firsts[a.name]) for a in apps)
        rows.append(
            Row(
                f"{profile}: time to first token over {kind} (one client)",
                Timing(firsts[apps[0].name]),
                Timing(firsts[apps[1].name]),
                "the hand-written app",
                f"added p50 {1000 * (m - b):+.1f} ms",
            )
        )
    return rows


def agents_with_history(into: Path, max_messages: int) -> Path:
    """A copy of config/agents whose `assistant` shows at most `max_messages` messages."""
    import yaml

    shutil.copytree(servers.ROOT / "config" / "agents", into)
    path = into / "assistant.yaml"
    agent = yaml.safe_load(path.read_text())
    agent.setdefault("history", {})["max_messages"] = max_messages
    path.write_text(yaml.safe_dump(agent))
    return into


async def pg_available() -> bool:
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""), timeout=3)
        await conn.close()
        return True
    except Exception:
        return False


async def profile_rows(profile: str) -> list[Row]:
    py = sys.executable
    llm = f"http://127.0.0.1:{PORT}/v1"
    base_url, mai_url = f"http://127.0.0.1:{PORT + 1}", f"http://127.0.0.1:{PORT + 2}"
    LOGS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mai-sbs-") as tmp:
        data = Path(tmp)
        env = servers.mai_env(profile, data, llm, PG_URL, REDIS_URL)
        if HISTORY:
            env["AGENTS__DIR"] = str(agents_with_history(data / "agents", int(HISTORY)))
        await asyncio.to_thread(servers.migrate, env)
        db = f"{data / 'baseline.db'}" if profile == "embedded" else PG_URL.replace("+asyncpg", "")
        baseline_args = [py, "-m", "bench.sidebyside.baseline_app", str(PORT + 1), llm, db]
        if profile != "embedded":
            baseline_args.append(REDIS_URL)
        mai_args = [servers.MAI, "serve", "--port", str(PORT + 2)]
        async with (
            servers.process(
                [py, "-m", "bench.sidebyside.fake_llm", str(PORT)],
                f"{llm}/models",
                LOGS / "llm.log",
            ) as fake_llm,
            servers.process(
                baseline_args, f"{base_url}/docs", LOGS / f"baseline-{profile}.log"
            ) as baseline_server,
            servers.process(
                mai_args, f"{mai_url}/api/v1/health", LOGS / f"mai-{profile}.log", env
            ) as mai_server,
        ):
            mai_token, base_token = await sign_in(mai_url, base_url)
            mai = App(
                "MAI",
                mai_url,
                mai_token,
                "/api/v1/agents/assistant/run",
                "/api/v1/agents/assistant/stream",
                graphql=True,
            )
            base = App("baseline", base_url, base_token, "/run", "/stream", graphql=False)
            procs = {"MAI": mai_server, "baseline": baseline_server}
            rows = await side_by_side(profile, (mai, base), procs, fake_llm)
            cold = Timing([mai_server.ready_after])
            rows.append(Row(f"{profile}: `mai serve` to /health answering", cold))
            return rows


async def run() -> list[Row]:
    rows = await profile_rows("embedded")
    if await pg_available():
        rows += await profile_rows("postgres")
    return rows


def main() -> None:
    """Print the table and its markdown (for BENCHMARKS.md); bench/latest.md is untouched."""
    from rich.console import Console

    from adapters.observability.logging import configure_logging
    from bench.__main__ import machine, render

    configure_logging("WARNING", "json")
    table, markdown = render(asyncio.run(run()))
    Console().print(table)
    print(f"\n{machine()}\n\n{markdown}")


if __name__ == "__main__":
    main()
