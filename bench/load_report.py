"""A load run's report (`bench/load.py`): the markdown block for BENCHMARKS.md, the rows of
`make bench`, and the table printed at the end."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from bench.harness import Row, Timing, fmt_seconds
from bench.load_stats import LoadReport


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


def ms(seconds: float) -> str:
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
            f"{ms(row.latency.p50)} | {ms(row.latency.p95)} | {ms(row.latency.p99)} | "
            f"{ms(row.latency.max)} | {row.errors.total} |"
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
            f"| {label} | {st.count} | {ms(st.p50)} | {ms(st.p95)} | {ms(st.p99)} | {ms(st.max)} |"
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
            f"ops/s = turns/s; p99 {ms(r.latency.p99)}; errors {r.errors.total}",
        ),
        Row(
            f"load: {s.clients} concurrent GraphQL chat subscriptions, subscribe → DONE",
            RunTiming(s.done_samples or [float("nan")], rate=subs_rate),
            note=(
                f"first event p50 {ms(s.first_event.p50)} p99 {ms(s.first_event.p99)}; "
                f"wall {fmt_seconds(s.wall)}; errors {s.errors.total}"
            ),
        ),
    ]


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
            ms(rr.latency.p50),
            ms(rr.latency.p95),
            ms(rr.latency.p99),
            ms(rr.latency.max),
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
            ms(st.p50),
            ms(st.p95),
            ms(st.p99),
            ms(st.max),
            errs,
        )
    return out
