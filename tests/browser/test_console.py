"""The console in chromium, against a real server and a deterministic fake LLM: sign in,
watch an answer stream, approve a tool call, reopen and delete the conversation, edit and
delete a memory, switch a tool, run a pipeline to completion, and use it at phone width by
keyboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD, Console, sign_in
from tests.fakes.openai_server import GREETING


def test_a_signed_in_user_watches_an_answer_stream_and_approves_a_tool_call(
    page: Any, console: Console
) -> None:
    sign_in(page, console)
    page.get_by_label("Agent").select_option("banker")
    page.get_by_label("Message").fill("hello there")
    page.get_by_label("Message").press("Enter")

    # Streaming: the answer is on screen, still growing, before it is complete.
    growing = page.locator("[data-streaming=true]")
    growing.wait_for()
    partial = growing.inner_text()
    answer = page.locator(".msg.assistant", has_text=GREETING)
    answer.wait_for()
    assert partial.strip() and GREETING.startswith(partial.strip())
    assert len(partial.strip()) < len(GREETING)
    expect(page.locator("[data-streaming=true]")).to_have_count(0)  # `done` ends the stream

    page.get_by_role("button", name="Send").wait_for()  # the turn is over
    page.get_by_label("Message").fill("please transfer 5 to bob")
    page.get_by_role("button", name="Send").click()
    approval = page.get_by_role("group", name="Approval needed")
    approval.wait_for()
    assert "transfer" in approval.inner_text() and "bob" in approval.inner_text()
    approval.get_by_role("button", name="Approve").click()
    page.locator(".msg.assistant", has_text="Tool said: sent 5.00 to bob").wait_for()
    expect(approval.get_by_text("approved")).to_be_visible()

    # A tool that needs no approval runs inside the turn: its call and result show inline.
    page.get_by_role("button", name="Send").wait_for()
    page.get_by_label("Message").fill("square 7 please")
    page.get_by_role("button", name="Send").click()
    tool = page.locator(".msg.tool", has_text="slow_square").last
    tool.get_by_text("✓").wait_for()
    assert "49" in tool.inner_text()
    page.locator(".msg.assistant", has_text="Tool said: 49").wait_for()

    # The conversation was stored: it is listed, opens with its turns, and can be deleted.
    conversation_id = page.evaluate("location.hash").rsplit("/", 1)[-1]
    page.get_by_role("link", name="Conversations").click()
    row = page.locator(".card", has=page.locator(f"a[href='#/chat/{conversation_id}']"))
    row.get_by_role("button", name="Open").click()
    page.locator(".msg.user", has_text="please transfer 5 to bob").wait_for()
    page.locator(".msg.assistant", has_text="Tool said: sent").wait_for()
    page.get_by_role("link", name="Conversations").click()
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name=re.compile("^Delete")).click()
    row.wait_for(state="detached")
    assert console.api("GET", f"/conversations/{conversation_id}").status_code == 404


def test_the_memory_inspector_shows_scores_edits_and_deletes_a_memory(
    page: Any, console: Console
) -> None:
    created = console.api("POST", "/memories", json={"content": "Ada drinks her coffee black"})
    assert created.status_code == 201, created.text
    memory_id = created.json()["id"]

    sign_in(page, console)
    page.get_by_role("link", name="Memories").click()
    page.get_by_label("Search").fill("coffee")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("region", name="Search results")
    card = results.locator(f".memory[data-memory-id='{memory_id}']")
    card.wait_for()
    # The rank the API returned and each retrieval signal's own score, found by both here.
    for signal in ("score", "dense", "lexical"):
        score = card.locator(
            ".scores div", has=page.locator("dt", has_text=re.compile(f"^{signal}$"))
        )
        expect(score.locator("dd")).to_have_text(re.compile(r"^\d+\.\d{3}$"))
    card.get_by_role("button", name="Details").click()
    card.get_by_text("Provenance").wait_for()

    card.get_by_role("button", name="Edit").click()
    card.get_by_label("Content").fill("Ada drinks her coffee with oat milk")
    card.get_by_role("button", name="Save").click()
    # The form closes once the PATCH has answered (the textarea's own value proves nothing).
    expect(card.get_by_role("button", name="Save")).to_have_count(0, timeout=60_000)
    expect(card).to_contain_text("Ada drinks her coffee with oat milk")
    stored = console.api("GET", f"/memories/{memory_id}").json()
    assert stored["content"] == "Ada drinks her coffee with oat milk"

    # Delete: the memory leaves the results and the full list, the store and search.
    assert memory_id in search_ids(console, "coffee oat milk")
    listed = page.locator(f".memory[data-memory-id='{memory_id}']")
    expect(listed).to_have_count(2)  # in the search results and in "All memories"
    page.once("dialog", lambda d: d.accept())
    card.get_by_role("button", name="Delete").click()
    expect(listed).to_have_count(0)
    assert console.api("GET", f"/memories/{memory_id}").status_code == 404
    assert memory_id not in search_ids(console, "coffee oat milk")


def search_ids(console: Console, q: str) -> list[str]:
    found = console.api("GET", "/memories/search", params={"q": q, "k": 50})
    assert found.status_code == 200, found.text
    return [m["id"] for m in found.json()["items"]]


def test_a_superuser_switches_a_tool_off_and_on(page: Any, console: Console) -> None:
    sign_in(page, console)
    page.get_by_role("link", name="Tools").click()
    switch = page.get_by_role("switch", name="slow_square enabled")
    expect(switch).to_be_checked()
    switch.click()
    expect(switch).not_to_be_checked()
    tools = console.api("GET", "/tools").json()["items"]
    assert [t["enabled"] for t in tools if t["name"] == "slow_square"] == [False]
    switch.click()
    expect(switch).to_be_checked()
    tools = console.api("GET", "/tools").json()["items"]
    assert [t["enabled"] for t in tools if t["name"] == "slow_square"] == [True]


def test_a_pipeline_run_is_followed_live_to_completion(page: Any, console: Console) -> None:
    sign_in(page, console)
    page.get_by_role("link", name="Pipelines").click()
    page.get_by_label("Pipeline").select_option("shout")
    graph = page.get_by_role("img", name=re.compile("^shout"))
    assert graph.locator("[data-stage]").count() == 2  # upper → exclaim
    page.get_by_label(re.compile("^Input")).fill("hello")
    page.get_by_role("button", name="Run").click()
    page.locator("[data-run-status=running]").wait_for()
    graph.locator("[data-stage=upper][data-status=running]").wait_for()  # followed live
    page.locator("[data-run-status=succeeded]").wait_for()
    for stage in ("upper", "exclaim"):
        assert graph.locator(f"[data-stage={stage}]").get_attribute("data-status") == "succeeded"
    assert page.locator(".run .json").inner_text() == "HELLO!"  # the run's output


def test_a_prompt_renders_a_preview_with_its_variables(page: Any, console: Console) -> None:
    sign_in(page, console)
    page.get_by_role("link", name="Prompts").click()
    page.get_by_role("combobox", name=re.compile("^Prompt")).select_option("assistant")
    page.get_by_role("button", name="Render preview").click()
    preview = page.get_by_label("Rendered prompt")
    preview.wait_for()
    assert "You are MAI" in preview.inner_text()


def test_the_console_works_by_keyboard_at_phone_width(page: Any, console: Console) -> None:
    page.set_viewport_size({"width": 375, "height": 740})
    sign_in(page, console)
    menu = page.get_by_role("button", name="Menu")
    menu.focus()
    page.keyboard.press("Enter")
    nav = page.get_by_role("navigation", name="Screens")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="Memories").focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Memories", exact=True).wait_for()
    expect(nav).not_to_be_visible()  # the menu closes once a screen is chosen
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways at phone width ({width}px)"


def test_an_api_key_is_shown_once_works_and_stops_working_when_revoked(
    page: Any, console: Console
) -> None:
    sign_in(page, console)
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("browser-key")
    page.get_by_role("button", name="Create key").click()
    key = page.locator(".notice .secret").inner_text().strip()
    me = httpx.get(
        f"{console.url}/api/v1/users/me", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert me.status_code == 200 and me.json()["username"] == console.username
    row = page.locator("tr", has_text="browser-key")
    assert key not in row.inner_text()  # the list shows a prefix, never the key
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Revoke browser-key").click()
    row.wait_for(state="detached")
    gone = httpx.get(
        f"{console.url}/api/v1/users/me", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    assert gone.status_code == 401


def test_a_new_user_creates_an_account_from_the_sign_in_page(page: Any, console: Console) -> None:
    page.goto(console.url + "/")
    page.get_by_role("button", name="No account yet? Create one").click()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("button", name="Sign out").wait_for()
    expect(page.get_by_text("grace").first).to_be_visible()  # signed in as the new user
    page.get_by_role("link", name="Tools").click()
    switch = page.get_by_role("switch", name="calculator enabled")
    expect(switch).to_be_disabled()  # only a superuser switches tools


EVAL_DATASET = """
name: console-evals
cases:
  - name: echoes
    inputs: Hello
    evaluators: [{Contains: {value: "echo: Hello"}}]
  - name: says-banana
    inputs: Hello again
    evaluators: [{Contains: {value: banana}}]
"""


def test_a_superuser_opens_an_eval_run_and_its_cases(
    page: Any, console: Console, tmp_path: Path
) -> None:
    # A tiny eval run through the CLI, on the server's own database (tests.fakes' echo
    # model says "echo: <message>…", so one case passes and one fails: 0.5 < 0.9).
    dataset = tmp_path / "console-evals.yaml"
    dataset.write_text(EVAL_DATASET)
    ran = console.server.mai(
        "eval", "agent", "assistant", str(dataset), "--model", "function:tests.fakes:echo",
        "--min-score", "0.9",
        check=False,
    )  # fmt: skip
    assert ran.returncode == 1, ran.stdout + ran.stderr
    [run] = console.api("GET", "/evals", params={"dataset": "console-evals"}).json()["items"]

    sign_in(page, console)
    page.get_by_role("link", name="Evals").click()
    page.get_by_label("Dataset").select_option("console-evals")
    runs = page.get_by_role("table", name="Eval runs")
    expect(runs.locator("tbody tr")).to_have_count(1)  # the filter asked the API for one set
    row = runs.locator(f"tr[data-eval-run='{run['id']}']")
    expect(row).to_contain_text("assistant")
    expect(row).to_contain_text("0.500")
    expect(row).to_contain_text("failed")

    row.get_by_role("button", name=re.compile("^Open")).click()
    heading = page.get_by_role("heading", name=re.compile("^console-evals"))
    expect(heading).to_be_focused()  # keyboard users land on the run they opened
    assert page.evaluate("location.hash") == f"#/evals/{run['id']}"
    expect(page.locator("[data-eval-score]")).to_have_text("0.500")
    cases = page.get_by_role("table", name="Cases")
    passed = cases.locator("[data-eval-case=echoes]")
    failed = cases.locator("[data-eval-case=says-banana]")
    expect(passed).to_contain_text("1.00")
    expect(passed.locator(".pass")).to_contain_text("Contains")
    expect(failed).to_contain_text("0.00")
    expect(failed.locator(".fail")).to_contain_text("Contains")

    page.set_viewport_size({"width": 375, "height": 740})  # the run still fits a phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the eval run scrolls sideways at phone width ({width}px)"
    page.get_by_role("link", name="All runs").click()
    expect(runs).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the list of eval runs scrolls sideways at phone width ({width}px)"


def test_a_user_who_is_not_a_superuser_is_told_evals_are_not_theirs(
    page: Any, console: Console
) -> None:
    console.server.mai("users", "create", "lin", "--email", "lin@example.com",
                       "--password", PASSWORD)  # fmt: skip
    page.goto(console.url + "/#/evals")
    page.get_by_label("Username").fill("lin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("status")).to_contain_text("Only a superuser can see eval runs")
    expect(page.get_by_role("table", name="Eval runs")).to_have_count(0)
