"""A bounded load run on loopback (issue #10): a real uvicorn server in this process, on the
in-memory or embedded (SQLite file) profile, with a fast fake model (a `FunctionModel`
that answers a short reply in a few chunks, no sleeps), driven by a small asyncio driver.

1. chat turns: `users` users registered and logged in, `turns` REST
   `POST /api/v1/agents/assistant/run` turns, `concurrency` at a time (each worker keeps
   one conversation going) → turns/s, latency p50/p95/p99, errors (any non-2xx, any
   exception). The same driver on `GET /health` is the floor: what loopback, uvicorn, the
   middleware and the driver itself cost at that concurrency.
2. `subscriptions` concurrent GraphQL `chat` subscriptions: as many WebSocket clients
   (graphql-transport-ws, auth in connection_init) connect, then all subscribe at once and
   read until DONE → time to first event and to DONE p50/p95/p99, wall time, errors.

The driver shares the server's process and event loop (as `bench_streaming` does), so
its own CPU is in every figure; on a 2-core machine that is the honest bound.

    .venv/bin/python -m bench.load [--profile memory|embedded] [--turns N] [--concurrency C]
                                   [--subscriptions S] [--users U] [--out FILE]

It prints a table and the markdown block for BENCHMARKS.md (also to FILE with --out).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from dependency_injector import providers
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from rich.console import Console
from rich.table import Table
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from adapters.memory.models import StaticModelSource
from adapters.observability.logging import configure_logging
from bench.harness import Row, Timing, fmt_seconds
from entrypoints.rest.app import create_app
from tests.conftest import make_container, make_settings

AGENT = "assistant"
PASSWORD = "password123"
REPLY_CHUNKS = ("Sure, ", "here is ", "a short ", "answer.")
CHAT = """subscription($agent: String!, $message: String!) {
  chat(agent: $agent, message: $message) { type text conversationId messageId }
}"""


# --- statistics ---------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0–100) by linear interpolation between closest ranks (numpy's
    default): p50 of [1, 2, 3, 4] is 2.5, p100 is the maximum."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Stats:
    count: int
    p50: float
    p95: float
    p99: float
    mean: float
    max: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            nan = float("nan")
            return cls(0, nan, nan, nan, nan, nan)
        return cls(
            count=len(samples),
            p50=percentile(samples, 50),
            p95=percentile(samples, 95),
            p99=percentile(samples, 99),
            mean=sum(samples) / len(samples),
            max=max(samples),
        )


@dataclass
class Errors:
    """Failures by kind ("HTTP 500", "ReadTimeout", "ERROR event", …), with one example each."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, example: str = "") -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.examples.setdefault(kind, example[:300])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        return ", ".join(f"{k} ×{n}" for k, n in sorted(self.counts.items())) or "none"


@dataclass(frozen=True)
class RequestResult:
    """A fixed number of requests at a fixed concurrency: throughput, latency, errors."""

    name: str
    requests: int
    concurrency: int
    wall: float
    latency: Stats
    errors: Errors
    samples: list[float]  # seconds, one per answered request

    @property
    def per_second(self) -> float:
        return self.requests / self.wall if self.wall else float("inf")


@dataclass(frozen=True)
class SubscriptionResult:
    clients: int
    connect: Stats  # TCP + WebSocket upgrade + connection_init → connection_ack
    first_event: Stats  # subscribe sent → first `next`
    done: Stats  # subscribe sent → the DONE event
    wall: float  # the common subscribe instant → the last client's DONE
    events: int
    errors: Errors
    done_samples: list[float]  # seconds, subscribe → DONE per client


@dataclass(frozen=True)
class LoadReport:
    profile: str
    users: int
    floor: RequestResult
    turns: RequestResult
    subscriptions: SubscriptionResult
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    nofile: int


# --- the server -----------------------------------------------------------------------------


def fake_model() -> FunctionModel:
    """A fast model: a fixed short reply, streamed in a few chunks, no sleeps."""

    def respond(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart("".join(REPLY_CHUNKS))])

    async def stream(_messages: list[ModelMessage], _info: AgentInfo) -> AsyncIterator[str]:
        for chunk in REPLY_CHUNKS:
            yield chunk

    return FunctionModel(respond, stream_function=stream, model_name="load-fake")


def raise_nofile(wanted: int) -> int:
    """Lift the soft open-file limit towards `wanted` (up to the hard limit); the new soft
    limit. Each subscription costs two descriptors here (client and server end)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(profile: str, data_dir: Path) -> AsyncIterator[str]:
    """A started uvicorn on a free loopback port; yields its base URL."""
    if profile == "memory":
        settings = make_settings(data_dir)
    elif profile == "embedded":
        from adapters.sql.migrate import upgrade

        url = f"sqlite+aiosqlite:///{data_dir / 'mai.db'}"
        await upgrade(url)
        settings = make_settings(
            data_dir, database={"url": url}, memory={"vector_backend": "qdrant-edge"}
        )
    else:
        raise ValueError(f"unknown profile {profile!r} (memory | embedded)")
    container = make_container(settings)
    container.model_source.override(providers.Object(StaticModelSource(fake_model())))
    port = free_port()
    config = uvicorn.Config(
        create_app(container, configure_logs=False),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        limit_concurrency=None,  # uvicorn's default too: no cap on connections or tasks
        backlog=2048,
        ws_ping_interval=None,  # no keep-alive pings in a bounded run
    )
    server = uvicorn.Server(config)

    async def serving() -> None:
        try:
            await server.serve()
        except SystemExit as exc:  # uvicorn exits on a failed start-up: a plain error here
            raise RuntimeError(f"uvicorn failed to start (exit {exc.code}); see the log") from None

    task = asyncio.create_task(serving())
    while not server.started:  # uvicorn exposes no event for this
        if task.done():
            await task  # start-up failed: raise its error
            raise RuntimeError("uvicorn stopped during start-up")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def sign_up(http: httpx.AsyncClient, users: int) -> list[str]:
    """Register and log in `users` users; their access tokens."""

    async def one(i: int) -> str:
        name = f"load{i:04d}"
        r = await http.post(
            "/api/v1/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": PASSWORD},
        )
        r.raise_for_status()
        r = await http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])

    return list(await asyncio.gather(*(one(i) for i in range(users))))


# --- the drivers ----------------------------------------------------------------------------


def client(base_url: str) -> httpx.AsyncClient:
    """One keep-alive connection: what one user's client holds. (A shared httpx pool of
    C connections costs O(C) per request in httpcore's pool bookkeeping — at C = 50 the
    driver, not the server, was the bottleneck: `GET /health` fell from ~675/s to ~180/s.)
    Plain HTTP on loopback: `verify=False` spares each client the ~60 ms of loading the CA
    bundle into an SSL context it would never use."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(
        base_url=base_url, limits=limits, timeout=httpx.Timeout(120.0), verify=False
    )


async def drive_requests(
    base_url: str,
    name: str,
    *,
    requests: int,
    concurrency: int,
    tokens: Sequence[str],
    path: str,
    chat: bool,
) -> RequestResult:
    """`requests` requests by `concurrency` workers, each with its own connection. Worker
    w speaks for user w mod N; for chat, it keeps one conversation going (created by its
    first turn)."""
    latencies: list[float] = []
    errors = Errors()
    issued = 0

    async def worker(w: int, http: httpx.AsyncClient) -> None:
        nonlocal issued
        headers = {"Authorization": f"Bearer {tokens[w % len(tokens)]}"} if tokens else {}
        conversation: str | None = None
        while issued < requests:
            issued += 1
            started = time.perf_counter()
            try:
                if chat:
                    body: dict[str, Any] = {"message": f"turn {issued} from worker {w}"}
                    if conversation is not None:
                        body["conversation_id"] = conversation
                    r = await http.post(path, json=body, headers=headers)
                else:
                    r = await http.get(path, headers=headers)
            except Exception as exc:  # counted, never fatal: the run goes on
                errors.add(type(exc).__name__, repr(exc))
                continue
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            if not r.is_success:
                errors.add(f"HTTP {r.status_code}", f"after {elapsed:.2f} s: {r.text}")
            elif chat:
                out = r.json()
                conversation = out["conversation_id"]
                if out["output"] != "".join(REPLY_CHUNKS):
                    errors.add("wrong output", r.text)

    clients = [client(base_url) for _ in range(concurrency)]
    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(w, http) for w, http in enumerate(clients)))
        wall = time.perf_counter() - started
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    return RequestResult(name, requests, concurrency, wall, Stats.of(latencies), errors, latencies)


async def drive_subscriptions(
    base_url: str, tokens: Sequence[str], *, clients: int, read_timeout: float = 120.0
) -> SubscriptionResult:
    """`clients` WebSocket clients connect and authenticate, then all subscribe to `chat`
    at the same instant and read until DONE (and the operation's `complete`)."""
    ws_url = base_url.replace("http://", "ws://") + "/graphql"
    connected: list[float] = []
    first: list[float] = []
    done: list[float] = []
    finished_at: list[float] = []
    events = 0
    errors = Errors()
    ready = 0
    all_ready = asyncio.Event()
    go = asyncio.Event()

    def arrived() -> None:
        nonlocal ready
        ready += 1
        if ready == clients:
            all_ready.set()

    async def client(c: int) -> None:
        nonlocal events
        token = tokens[c % len(tokens)]
        started = time.perf_counter()
        try:
            async with connect(
                ws_url,
                subprotocols=[Subprotocol("graphql-transport-ws")],
                open_timeout=read_timeout,
                ping_interval=None,
                close_timeout=5,
            ) as ws:
                init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
                await ws.send(json.dumps(init))
                ack = json.loads(await asyncio.wait_for(ws.recv(), read_timeout))
                if ack.get("type") != "connection_ack":
                    errors.add("no connection_ack", json.dumps(ack))
                    return
                connected.append(time.perf_counter() - started)
                arrived()
                await go.wait()
                variables = {"agent": AGENT, "message": f"hello from client {c}"}
                sent = time.perf_counter()
                await ws.send(
                    json.dumps(
                        {
                            "id": "1",
                            "type": "subscribe",
                            "payload": {"query": CHAT, "variables": variables},
                        }
                    )
                )
                text, saw_first, saw_done = "", False, False
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), read_timeout))
                    kind = frame.get("type")
                    if kind == "complete":
                        break
                    if kind != "next":
                        errors.add(f"{kind} frame", json.dumps(frame))
                        return
                    payload = frame["payload"]
                    if payload.get("errors"):
                        errors.add("GraphQL error", json.dumps(payload["errors"]))
                        return
                    event = payload["data"]["chat"]
                    events += 1
                    now = time.perf_counter()
                    if not saw_first:
                        first.append(now - sent)
                        saw_first = True
                    if event["type"] == "DELTA":
                        text += event["text"] or ""
                    elif event["type"] == "DONE":
                        done.append(now - sent)
                        finished_at.append(now)
                        saw_done = True
                    elif event["type"] == "ERROR":
                        errors.add("ERROR event", json.dumps(event))
                        return
                if not saw_done:
                    errors.add("no DONE", text)
                elif text != "".join(REPLY_CHUNKS):
                    errors.add("wrong text", text)
        except Exception as exc:  # counted, never fatal
            errors.add(type(exc).__name__, repr(exc))

    tasks = [asyncio.create_task(client(c)) for c in range(clients)]
    # Every client either reaches the start line or fails; wait for the survivors.
    while not all_ready.is_set():
        if ready + sum(t.done() for t in tasks) >= clients:
            break
        await asyncio.sleep(0.01)
    go_at = time.perf_counter()
    go.set()
    await asyncio.gather(*tasks)
    wall = (max(finished_at) - go_at) if finished_at else float("nan")
    return SubscriptionResult(
        clients=clients,
        connect=Stats.of(connected),
        first_event=Stats.of(first),
        done=Stats.of(done),
        wall=wall,
        events=events,
        errors=errors,
        done_samples=done,
    )


async def load(
    *,
    profile: str = "memory",
    users: int = 20,
    turns: int = 1000,
    concurrency: int = 50,
    subscriptions: int = 200,
    data_dir: Path | None = None,
) -> LoadReport:
    """The whole run: floor, chat turns, then the subscriptions, on one fresh server."""
    nofile = raise_nofile(max(4096, 4 * (subscriptions + concurrency) + 256))
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="mai-load-") as tmp:
        async with serve(profile, data_dir or Path(tmp)) as base_url:
            async with client(base_url) as http:
                tokens = await sign_up(http, users)
            # Warm-up: the first turn of a process imports and builds lazily.
            await drive_requests(
                base_url,
                "warm-up",
                requests=min(20, turns),
                concurrency=min(5, concurrency),
                tokens=tokens,
                path=f"/api/v1/agents/{AGENT}/run",
                chat=True,
            )
            floor = await drive_requests(
                base_url,
                "GET /health",
                requests=turns,
                concurrency=concurrency,
                tokens=(),
                path="/health",
                chat=False,
            )
            chat = await drive_requests(
                base_url,
                f"POST /api/v1/agents/{AGENT}/run",
                requests=turns,
                concurrency=concurrency,
                tokens=tokens,
                path=f"/api/v1/agents/{AGENT}/run",
                chat=True,
            )
            subs = await drive_subscriptions(base_url, tokens, clients=subscriptions)
    return LoadReport(
        profile=profile,
        users=users,
        floor=floor,
        turns=chat,
        subscriptions=subs,
        load_before=load_before,
        load_after=os.getloadavg(),
        nofile=nofile,
    )


# --- reporting ------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{ram}, Python {platform.python_version()}"


def _ms(seconds: float) -> str:
    return "—" if math.isnan(seconds) else f"{seconds * 1e3:.1f} ms"


def markdown(report: LoadReport) -> str:
    r, f, s = report.turns, report.floor, report.subscriptions
    lb, la = report.load_before, report.load_after
    lines = [
        f"Profile `{report.profile}`, {report.users} users, {machine()}; "
        f"load average {lb[0]:.2f} before / {la[0]:.2f} after; open-file limit {report.nofile}.",
        "",
        "| run | requests | concurrency | throughput | p50 | p95 | p99 | max | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in (r, f):
        lines.append(
            f"| {row.name} | {row.requests} | {row.concurrency} | {row.per_second:,.0f}/s | "
            f"{_ms(row.latency.p50)} | {_ms(row.latency.p95)} | {_ms(row.latency.p99)} | "
            f"{_ms(row.latency.max)} | {row.errors.total} |"
        )
    lines += [
        "",
        f"{s.clients} concurrent `chat` subscriptions (graphql-transport-ws), "
        f"all subscribed at once; wall time {fmt_seconds(s.wall)}, {s.events} events, "
        f"errors {s.errors.total}.",
        "",
        "| subscriptions | n | p50 | p95 | p99 | max |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for label, st in (
        ("connect + connection_ack", s.connect),
        ("subscribe → first event", s.first_event),
        ("subscribe → DONE", s.done),
    ):
        lines.append(
            f"| {label} | {st.count} | {_ms(st.p50)} | {_ms(st.p95)} | {_ms(st.p99)} | "
            f"{_ms(st.max)} |"
        )
    for label, errs in (("chat turns", r.errors), ("floor", f.errors), ("subs", s.errors)):
        for kind, example in errs.examples.items():
            lines.append(f"\n- {label} error {kind} ×{errs.counts[kind]}: `{example}`")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunTiming(Timing):
    """A run's latency samples with the run's own rate: under concurrency, throughput is
    requests / wall time, not 1 / mean latency."""

    rate: float = 0.0

    @property
    def per_second(self) -> float:
        return self.rate


def rows(report: LoadReport) -> list[Row]:
    """The report in the shape of the other suites (`bench/__main__.py`)."""
    r, f, s = report.turns, report.floor, report.subscriptions
    subs_rate = s.clients / s.wall if s.wall else float("nan")
    return [
        Row(
            f"load: {r.requests} chat turns over REST (uvicorn, loopback), "
            f"concurrency {r.concurrency}, {report.users} users",
            RunTiming(r.samples or [float("nan")], rate=r.per_second),
            RunTiming(f.samples or [float("nan")], rate=f.per_second),
            "GET /health, same driver and concurrency",
            f"ops/s = turns/s; p99 {_ms(r.latency.p99)}; errors {r.errors.total}",
        ),
        Row(
            f"load: {s.clients} concurrent GraphQL chat subscriptions, subscribe → DONE",
            RunTiming(s.done_samples or [float("nan")], rate=subs_rate),
            note=(
                f"first event p50 {_ms(s.first_event.p50)} p99 {_ms(s.first_event.p99)}; "
                f"wall {fmt_seconds(s.wall)}; errors {s.errors.total}"
            ),
        ),
    ]


async def run() -> list[Row]:
    """The suite for `bench/__main__.py`: the default bounded run on the in-memory profile."""
    return rows(await load())


def table(report: LoadReport) -> Table:
    out = Table(title=f"MAI load ({report.profile} profile) — {machine()}")
    for col in ("run", "n", "conc.", "rate", "p50", "p95", "p99", "max", "errors"):
        out.add_column(col)
    for rr in (report.turns, report.floor):
        out.add_row(
            rr.name,
            str(rr.requests),
            str(rr.concurrency),
            f"{rr.per_second:,.0f}/s",
            _ms(rr.latency.p50),
            _ms(rr.latency.p95),
            _ms(rr.latency.p99),
            _ms(rr.latency.max),
            rr.errors.summary(),
        )
    s = report.subscriptions
    for label, st, errs in (
        ("WS connect + connection_ack", s.connect, ""),
        ("subscribe → first event", s.first_event, ""),
        ("subscribe → DONE", s.done, s.errors.summary()),
    ):
        out.add_row(
            label,
            str(st.count),
            str(s.clients),
            "",
            _ms(st.p50),
            _ms(st.p95),
            _ms(st.p99),
            _ms(st.max),
            errs,
        )
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description="A bounded load run on loopback (issue #10)."
    )
    parser.add_argument("--profile", choices=("memory", "embedded"), default="memory")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--out", type=Path, help="also write the markdown block to this file")
    args = parser.parse_args(argv)
    configure_logging("WARNING", "json")  # measure the framework, not the terminal
    report = asyncio.run(
        load(
            profile=args.profile,
            users=args.users,
            turns=args.turns,
            concurrency=args.concurrency,
            subscriptions=args.subscriptions,
        )
    )
    console = Console(width=max(Console().width, 132))
    console.print(table(report))
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"Load run {stamp}\n\n{markdown(report)}"
    print(block)  # plain, for pasting into BENCHMARKS.md
    if args.out is not None:
        args.out.write_text(block)


if __name__ == "__main__":
    main()
