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
import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from adapters.observability.logging import configure_logging
from bench.harness import Row
from bench.load_drivers import client, drive_requests, drive_subscriptions
from bench.load_report import markdown, rows, table
from bench.load_server import AGENT, raise_nofile, serve, sign_up
from bench.load_stats import LoadReport


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


async def run() -> list[Row]:
    """The suite for `bench/__main__.py`: the default bounded run on the in-memory profile."""
    return rows(await load())


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
