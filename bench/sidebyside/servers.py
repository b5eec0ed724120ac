"""The processes of the side-by-side benchmark: the fake LLM, the baseline app and MAI
(`mai db upgrade`, then `mai serve`), each a uvicorn server of its own on loopback."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
MAI = str(Path(sys.executable).with_name("mai"))


async def wait_ready(url: str, proc: subprocess.Popen[bytes], limit: float = 120.0) -> float:
    """Seconds until `url` answers 200 (polled every 10 ms); raises if the process dies."""
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=1.0) as http:
        while time.perf_counter() - started < limit:
            if proc.poll() is not None:
                raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
            try:
                if (await http.get(url)).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError(f"{url} did not answer within {limit} s")


@dataclass(frozen=True)
class Server:
    """A started server process: its pid and the seconds it took to answer."""

    pid: int
    ready_after: float

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the process has used so far (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def process(
    args: list[str],
    ready_url: str,
    log: Path,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
) -> AsyncIterator[Server]:
    """A started server process (its output in `log`), once it answers `ready_url`."""
    with log.open("wb") as out:
        proc = subprocess.Popen(  # noqa: ASYNC220 - started once, waited for below
            args, cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=out
        )
    try:
        yield Server(proc.pid, await wait_ready(ready_url, proc))
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()


def mai_env(
    profile: str, data_dir: Path, llm_url: str, pg_url: str, redis_url: str
) -> dict[str, str]:
    env = {
        "ENVIRONMENT": "development",
        "DATA_DIR": str(data_dir),
        "LM_STUDIO__BASE_URL": llm_url,
        "LM_STUDIO__MODEL": "fake-chat",
        "LIMITS__ENABLED": "false",
        "LOG__LEVEL": "WARNING",
        "LOG__FORMAT": "json",
        "SECURITY__BCRYPT_ROUNDS": "4",
        "JWT__SECRET_KEY": "side-by-side-benchmark-secret-0123456789",
        "MEMORY__EMBEDDER_THREADS": "1",
    }
    if profile == "embedded":
        env |= {
            "DATABASE__URL": f"sqlite+aiosqlite:///{data_dir / 'mai.db'}",
            "REDIS__URL": "memory://",
        }
    else:
        env |= {
            "DATABASE__URL": pg_url,
            "REDIS__URL": redis_url,
            "MEMORY__VECTOR_BACKEND": "pgvector",
        }
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(
        [MAI, "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.DEVNULL,
    )
