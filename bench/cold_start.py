"""Cold start (issue #15): importing the app, `mai health`, and `mai serve` until
`GET /health` answers, on the embedded profile (a fresh SQLite file, no LLM server).

    .venv/bin/python -m bench.cold_start [TREE ...]

With TREEs (other checkouts of the project, e.g. `git archive <rev> | tar -x -C DIR`),
each is measured in the same run, round after round, with this venv's interpreter: the
before/after comparison on one machine state. Without, only this checkout.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Row, Timing
from bench.sidebyside.servers import ROOT, process

PORT = int(os.environ.get("MAI_BENCH_COLD_PORT", "8158"))
ROUNDS = 3
CLI = "import sys; from entrypoints.cli.main import app; sys.argv[0] = 'mai'; app()"


def _env(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATA_DIR": str(data),
        "DATABASE__URL": f"sqlite+aiosqlite:///{data / 'mai.db'}",
        "REDIS__URL": "memory://",
        "LM_STUDIO__BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens: reported down
        "LOG__LEVEL": "WARNING",
    }


def _timed(args: list[str], tree: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of `args`. CPU time (user + system of the
    child) is what a busy shared machine distorts least; wall time is what a user waits."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, cwd=tree, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


async def measure(tree: Path) -> dict[str, float]:
    """One round on `tree`: seconds for each of the three."""
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="mai-cold-") as tmp:
        env = _env(Path(tmp))
        upgrade = [py, "-c", CLI, "db", "upgrade"]
        await asyncio.to_thread(
            subprocess.run, upgrade, cwd=tree, env=env, check=True, capture_output=True
        )
        out: dict[str, float] = {}
        for name, args in (
            ("import entrypoints.rest.app", [py, "-c", "import entrypoints.rest.app"]),
            ("mai health", [py, "-c", CLI, "health"]),
        ):
            wall, cpu = _timed(args, tree, env)
            out[f"{name} (wall)"], out[f"{name} (CPU)"] = wall, cpu
        args = [py, "-c", CLI, "serve", "--port", str(PORT)]
        started = time.perf_counter()
        async with process(
            args,
            f"http://127.0.0.1:{PORT}/health",
            Path(tmp) / "serve.log",
            env,
            cwd=tree,
        ):
            out["mai serve → /health"] = time.perf_counter() - started
        return out


async def compare(trees: list[Path]) -> dict[Path, dict[str, list[float]]]:
    results: dict[Path, dict[str, list[float]]] = {t: {} for t in trees}
    for r in range(ROUNDS):
        for tree in trees if r % 2 == 0 else trees[::-1]:
            for name, seconds in (await measure(tree)).items():
                results[tree].setdefault(name, []).append(seconds)
    return results


async def run() -> list[Row]:
    results = await compare([ROOT])
    return [
        Row(f"cold start: {n}", Timing(s), note="embedded profile")
        for n, s in results[ROOT].items()
    ]


def main(argv: list[str]) -> None:
    trees = [ROOT, *(Path(a).resolve() for a in argv)]
    results = asyncio.run(compare(trees))
    print(f"| measure | {' | '.join(str(t) for t in trees)} |")
    print(f"| --- |{' --- |' * len(trees)}")
    for name in results[ROOT]:
        cells = [f"{statistics.median(results[t][name]):.2f} s" for t in trees]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
