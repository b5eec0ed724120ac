"""Browser tests: Python's playwright driving Debian's chromium (scripts/setup_browser.sh,
never `playwright install`) against a real `mai serve` whose LLM is tests/fakes/openai_server.py.

`make test` builds the console (`make web`), installs chromium and sets MAI_REQUIRE_BROWSER=1,
so there a missing piece fails; a bare `pytest` without them skips these tests and says why.
A failing test leaves a screenshot and the page's HTML in .mai/browser-artifacts/ (or
$MAI_BROWSER_ARTIFACTS) and names it in the failure report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from entrypoints.web.pages import REPO_WEB_DIST
from tests.e2e.conftest import REPO, Server, free_port, server_env, start_server, stop_server

CHROMIUM = os.environ.get("MAI_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("MAI_BROWSER_ARTIFACTS", REPO / ".mai" / "browser-artifacts"))
PASSWORD = "password123"


def _missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (make browser installs it)"
    if not (REPO_WEB_DIST / "index.html").is_file():
        return f"the console is not built in {REPO_WEB_DIST} (make web)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is missing (make install-dev)"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    ours = [i for i in items if Path(str(i.fspath)).is_relative_to(here)]
    for item in ours:
        item.add_marker(pytest.mark.browser)
        item.add_marker(pytest.mark.e2e)
        item.add_marker(pytest.mark.slow)
    missing = _missing() if ours else None
    if missing is None:
        return
    if os.environ.get("MAI_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"browser tests cannot run: {missing}")
    for item in ours:
        item.add_marker(pytest.mark.skip(reason=f"browser tests: {missing}"))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[REPORT] = report
    return report


REPORT = pytest.StashKey[pytest.TestReport]()


@dataclass
class Console:
    """The server under test, its fake LLM, and a signed-up superuser."""

    server: Server
    username: str = "ada"
    _token: str = ""

    @property
    def url(self) -> str:
        return self.server.base_url

    def token(self) -> str:
        if self._token:
            return self._token
        r = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"username": self.username, "password": PASSWORD},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        self._token = str(r.json()["access_token"])
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return httpx.request(
            method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs
        )


def _start_fake_llm(log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        # Words 0.3 s apart: slow enough for a page to show an answer still growing.
        [sys.executable, "-m", "tests.fakes.openai_server", str(port), "--word-delay", "0.3"],
        cwd=REPO,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return process, port
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"fake LLM did not start: {log.read_text()}")


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("browser")
    llm, port = _start_fake_llm(tmp / "llm.log")
    env = server_env(
        tmp,
        LM_STUDIO__BASE_URL=f"http://127.0.0.1:{port}/v1",
        LM_STUDIO__MODEL="",
        AGENTS__DIR=str(REPO / "tests" / "fixtures" / "tool_agents"),
        TOOLS__MODULES='["tests.fixtures.demo_tools"]',
        PIPELINES__DIR=str(REPO / "tests" / "fixtures" / "pipelines"),
        API__CONSOLE_DIR=str(REPO_WEB_DIST),
        # Every test signs in afresh as ada: more than the 10 per 5 minutes a person gets.
        LIMITS__LOGIN_PER_USER__CALLS="1000",
        LIMITS__LOGIN_PER_USER__PERIOD="300",
    )
    try:
        server = start_server(tmp, env)
    except BaseException:
        llm.kill()
        raise
    try:
        server.mai("users", "create", "ada", "--email", "ada@example.com", "--password", PASSWORD,
                   "--superuser")  # fmt: skip
        yield Console(server)
    finally:
        stop_server(server)
        llm.terminate()
        llm.wait(timeout=15)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Package-scoped: Playwright's sync API runs its own event loop in this thread while it
    is open, so it must be closed before the rest of the suite's asyncio tests run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no session) per test; its page errors fail the test."""
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    yield page
    report = request.node.stash.get(REPORT, None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = ARTIFACTS / request.node.name
        page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(page.content())
        report.sections.append(("browser artifacts", f"{stem}.png, {stem}.html"))
        print(f"\nbrowser artifacts: {stem}.png {stem}.html", file=sys.stderr)
    context.close()
    assert errors == [], f"errors in the page: {errors}"


def sign_in(page: Any, console: Console) -> None:
    page.goto(console.url + "/")
    page.get_by_label("Username").fill(console.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
