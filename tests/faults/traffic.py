"""Live traffic against a real API while a test breaks one of its dependencies.

`Traffic` runs a few workers, each a user of its own, sending requests back to back:
registrations, memory writes, memory searches and chat turns (whole and streamed). Every
request is bounded by a client timeout and recorded as an `Outcome`: what was acknowledged
(a 2xx: the username, the memory id, the assistant message id), and whether a failure
followed the contract (`{"error": {code, message, details, retryable}}`, 503 and
`retryable: true` for a dependency that is down; never a 500, never a hang).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx

REQUEST_TIMEOUT = 30.0  # no request may take longer: past this it counts as a hang
PASSWORD = "password123"
CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
WRITES = ("register", "memory", "chat_run", "chat_stream")


@dataclass
class Outcome:
    op: str
    started: float  # time.monotonic()
    elapsed: float
    status: int | None = None  # None: no HTTP answer at all
    error: dict[str, Any] | None = None  # the contract's error object, when one came back
    problem: str | None = None  # a contract violation, described
    ack: str | None = None  # what a 2xx acknowledged: username, memory id, message id

    @property
    def ok(self) -> bool:
        return self.error is None and self.problem is None


def contract_problem(status: int, body: Any) -> tuple[dict[str, Any] | None, str | None]:
    """The error object of a failed answer, and what is wrong with it (None if nothing)."""
    error = body.get("error") if isinstance(body, dict) else None
    shape_ok = (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and CODE.match(error["code"]) is not None
        and isinstance(error.get("message"), str)
        and isinstance(error.get("details"), dict)
        and isinstance(error.get("retryable"), bool)
    )
    if not shape_ok:
        return None, f"HTTP {status} without the contract's error shape: {str(body)[:300]}"
    assert isinstance(error, dict)
    if status != 503:
        return error, f"HTTP {status} {error['code']} (only 503 is expected): {error['message']}"
    if error["retryable"] is not True:
        return error, f"HTTP 503 {error['code']} with retryable=false"
    return error, None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def sse_events(text: str) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    name: str | None = None
    for line in text.splitlines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and name:
            try:
                events.append((name, json.loads(line.split(":", 1)[1])))
            except ValueError:
                events.append((name, line))
            name = None
    return events


@dataclass
class _Worker:
    index: int
    token: str
    conversation: str | None = None
    turns: int = 0
    memories: list[str] = field(default_factory=list)


class Traffic:
    """`async with Traffic(url, ops) as t:` sends requests until the block ends."""

    def __init__(
        self,
        base_url: str,
        ops: Iterable[str] = ("register", "memory", "search", "chat_run", "chat_stream"),
        *,
        workers: int = 3,
        pause: float = 0.05,
    ) -> None:
        self.base_url = base_url
        self.ops = tuple(ops)
        self.outcomes: list[Outcome] = []
        self._workers = workers
        self._pause = pause
        self._stop = asyncio.Event()
        self._t0 = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=5.0)
        )

    async def __aenter__(self) -> Traffic:
        for i in range(self._workers):
            worker = _Worker(i, await self._new_user(f"w{i}"))
            self._tasks.append(asyncio.create_task(self._run(worker)))
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks), REQUEST_TIMEOUT + 15)
        finally:
            await self._http.aclose()

    # --- queries over what happened --------------------------------------------------------
    def acked(self, op: str) -> set[str]:
        return {o.ack for o in self.outcomes if o.op == op and o.ack is not None}

    def problems(self) -> list[str]:
        return [
            f"{o.op} at +{o.started - self._t0:.1f}s: {o.problem}"
            for o in self.outcomes
            if o.problem
        ]

    def started_between(self, start: float, end: float = float("inf")) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.started < end]

    def failures_between(self, start: float, end: float = float("inf")) -> list[Outcome]:
        return [o for o in self.started_between(start, end) if not o.ok]

    async def wait_for(
        self, since: float, per_op: int, *, ops: Iterable[str] | None = None, within: float = 60
    ) -> None:
        """Until each op has finished `per_op` requests started after `since` (any result)."""
        wanted = tuple(ops or self.ops)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            done = self.started_between(since)
            if all(sum(o.op == op for o in done) >= per_op for op in wanted):
                return
            await asyncio.sleep(0.1)
        counts = {op: sum(o.op == op for o in self.started_between(since)) for op in wanted}
        raise AssertionError(f"traffic stalled: {counts} requests in {within:g}s")

    async def wait_for_successes(self, since: float, per_op: int, *, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            done = [o for o in self.started_between(since) if o.ok]
            if all(sum(o.op == op for o in done) >= per_op for op in self.ops):
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"no steady success: {self.summary(since)}")

    def summary(self, since: float = 0.0, end: float = float("inf")) -> dict[str, str]:
        out: dict[str, str] = {}
        for op in self.ops:
            mine = [o for o in self.started_between(since, end) if o.op == op]
            failed = [o for o in mine if not o.ok]
            codes = sorted({str((o.error or {}).get("code", o.status)) for o in failed})
            slowest = max((o.elapsed for o in mine), default=0.0)
            ok = len(mine) - len(failed)
            out[op] = f"{ok} ok, {len(failed)} failed {codes}, max {slowest:.1f}s"
        return out

    # --- the workers -------------------------------------------------------------------
    async def _new_user(self, prefix: str) -> str:
        name = f"{prefix}_{uuid4().hex[:10]}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        created = await self._http.post("/api/v1/auth/register", json=body)
        assert created.status_code == 201, created.text
        login = await self._http.post(
            "/api/v1/auth/login", json={"username": name, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        return str(login.json()["access_token"])

    async def _run(self, worker: _Worker) -> None:
        step = worker.index  # the workers start on different ops
        actions: dict[str, Callable[[_Worker], Awaitable[Outcome]]] = {
            "register": self._register,
            "memory": self._memory,
            "search": self._search,
            "chat_run": self._chat_run,
            "chat_stream": self._chat_stream,
        }
        while not self._stop.is_set():
            op = self.ops[step % len(self.ops)]
            step += 1
            started = time.monotonic()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT + 5):
                    outcome = await actions[op](worker)
            except (TimeoutError, httpx.TimeoutException) as exc:
                outcome = Outcome(op, 0, 0, problem=f"no answer within the timeout ({exc!r})")
            except httpx.HTTPError as exc:
                outcome = Outcome(op, 0, 0, problem=f"no HTTP answer: {exc!r}")
            outcome.started, outcome.elapsed = started, time.monotonic() - started
            self.outcomes.append(outcome)
            await asyncio.sleep(self._pause)

    def _headers(self, worker: _Worker) -> dict[str, str]:
        return {"Authorization": f"Bearer {worker.token}"}

    def _answer(self, op: str, response: httpx.Response, ok: int, ack: str | None) -> Outcome:
        if response.status_code == ok:
            return Outcome(op, 0, 0, response.status_code, ack=ack)
        error, problem = contract_problem(response.status_code, _json(response))
        return Outcome(op, 0, 0, response.status_code, error=error, problem=problem)

    async def _register(self, worker: _Worker) -> Outcome:
        name = f"r{worker.index}_{uuid4().hex[:12]}"
        body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        response = await self._http.post("/api/v1/auth/register", json=body)
        return self._answer("register", response, 201, name)

    async def _memory(self, worker: _Worker) -> Outcome:
        content = f"The user's lucky token is {uuid4().hex}."
        response = await self._http.post(
            "/api/v1/memories", json={"content": content}, headers=self._headers(worker)
        )
        ack = str(response.json()["id"]) if response.status_code == 201 else None
        if ack:
            worker.memories.append(ack)
        return self._answer("memory", response, 201, ack)

    async def _search(self, worker: _Worker) -> Outcome:
        response = await self._http.get(
            "/api/v1/memories/search",
            params={"q": "lucky token", "k": 3},
            headers=self._headers(worker),
        )
        return self._answer("search", response, 200, None)

    def _chat_body(self, worker: _Worker) -> dict[str, Any]:
        worker.turns += 1
        if worker.turns % 4 == 1:  # a new conversation now and then, else carry on
            worker.conversation = None
        body: dict[str, Any] = {"message": f"How are you, turn {worker.turns}?"}
        if worker.conversation:
            body["conversation_id"] = worker.conversation
        return body

    async def _chat_run(self, worker: _Worker) -> Outcome:
        response = await self._http.post(
            "/api/v1/agents/assistant/run",
            json=self._chat_body(worker),
            headers=self._headers(worker),
        )
        ack = None
        if response.status_code == 200:
            done = response.json()
            worker.conversation = str(done["conversation_id"])
            ack = str(done["message_id"])
        return self._answer("chat_run", response, 200, ack)

    async def _chat_stream(self, worker: _Worker) -> Outcome:
        op = "chat_stream"
        async with self._http.stream(
            "POST",
            "/api/v1/agents/assistant/stream",
            json=self._chat_body(worker),
            headers=self._headers(worker),
        ) as response:
            text = (await response.aread()).decode(errors="replace")
        if response.status_code != 200:
            error, problem = contract_problem(response.status_code, _parse(text))
            return Outcome(op, 0, 0, response.status_code, error=error, problem=problem)
        events = sse_events(text)
        last = events[-1] if events else ("", None)
        if last[0] == "done" and isinstance(last[1], dict):
            worker.conversation = str(last[1]["conversation_id"])
            return Outcome(op, 0, 0, 200, ack=str(last[1]["message_id"]))
        if last[0] == "error":
            # In-band: the same error object; a dependency that is down says retryable.
            error, problem = contract_problem(503, last[1])
            return Outcome(op, 0, 0, 200, error=error, problem=problem)
        return Outcome(op, 0, 0, 200, problem=f"stream ended without done/error: {text[-300:]}")


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
