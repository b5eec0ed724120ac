"""`mai eval memory` through Typer's CliRunner on the memory profile with the test embedder:
each mode's recall, the threshold, LoCoMo's format, and errors that name the place."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.unit.cli_evals_support import (
    World,
    mai,
    one_line_error,
    shipped_world,
    write,
)

pytestmark = pytest.mark.usefixtures("cli_memory_profile")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    return shipped_world(monkeypatch)


JSONL = "\n".join(
    json.dumps(row)
    for row in [
        {"id": "m1", "memory": "My sister Lena moved to Porto last spring."},
        {"id": "m2", "memory": "I can't stand cilantro, it tastes like soap."},
        {"id": "m3", "memory": "The wifi password at the cabin is bluefinch."},
        {"question": "Where did my sister Lena move?", "evidence": ["m1"]},
        {"question": "What is the cabin wifi password?", "evidence": ["m3"]},
        {"question": "Which vegetable do I grow?", "evidence": ["m9"]},
    ]
)


def test_memory_eval_prints_each_mode_records_runs_and_cleans_up(
    world: World, tmp_path: Path
) -> None:
    data = write(tmp_path, "mine.jsonl", JSONL)
    out = tmp_path / "runs.json"

    result = mai("eval", "memory", data, "--min-recall", "0.5", "--json", str(out))

    assert result.exit_code == 0, result.output
    for word in ("dense", "lexical", "hybrid", "recall@10", "MRR", "p95 ms"):
        assert word in result.output
    assert "1 questions skipped" in result.output
    runs = json.loads(out.read_text())
    assert [r["target"] for r in runs] == ["dense", "lexical", "hybrid"]
    assert all(r["metrics"]["recall@10"] == 1.0 and r["metrics"]["questions"] == 2 for r in runs)
    assert len(world.runs.runs) == 3
    assert world.users.users == {}
    assert world.memories.rows == {} and asyncio.run(world.index.count()) == 0


def test_memory_eval_exits_1_below_min_recall(world: World, tmp_path: Path) -> None:
    data = write(tmp_path, "mine.jsonl", JSONL)
    result = mai("eval", "memory", data, "--mode", "lexical", "--k", "1", "--min-recall", "1")
    # recall@10 is measured at depth max(k, 10), so it passes; a harder set fails:
    assert result.exit_code == 0, result.output
    hard = write(
        tmp_path,
        "hard.jsonl",
        JSONL + "\n" + json.dumps({"question": "zzz qqq", "evidence": ["m2"]}),
    )
    result = mai("eval", "memory", hard, "--mode", "lexical", "--min-recall", "1")
    assert result.exit_code == 1, result.output
    assert "below threshold" in result.output


def test_memory_eval_reads_locomo(world: World, tmp_path: Path) -> None:
    turns = [
        {"speaker": "Ann", "dia_id": "D1:1", "text": "I adopted a grey cat named Pixel."},
        {"speaker": "Bo", "dia_id": "D1:2", "text": "I am training for the Berlin marathon."},
    ]
    locomo = [
        {
            "conversation": {"speaker_a": "Ann", "speaker_b": "Bo", "session_1": turns,
                             "session_1_date_time": "1 May 2023"},
            "qa": [
                {"question": "What is the cat called?", "evidence": ["D1:1"], "category": 1},
                {"question": "Which races?", "evidence": ["D1:2; D1:1"], "category": 2},
                {"question": "Trick?", "evidence": [], "category": 5},
            ],
        }
    ]  # fmt: skip
    data = write(tmp_path, "locomo.json", json.dumps(locomo * 2))
    out = tmp_path / "runs.json"

    result = mai("eval", "memory", data, "--conversations", "1", "--mode", "hybrid",
                 "--json", str(out))  # fmt: skip

    assert result.exit_code == 0, result.output
    [run] = json.loads(out.read_text())
    assert run["dataset"] == "locomo[:1]" and run["metrics"]["questions"] == 2
    assert run["metrics"]["memories"] == 2 and run["details"]["skipped_questions"] == 1


@pytest.mark.parametrize(
    ("name", "text", "fragments"),
    [
        ("bad.jsonl", '{"id": "m1", "memory": "x"}\nnot json', ["line 2", "not JSON"]),
        ("bad.jsonl", '{"id": "m1", "note": "x"}', ["line 1", "'memory' or a 'question'"]),
        ("bad.json", '{"memories": [{"id": "m1"}], "questions": []}', ["memory 0", "'memory'"]),
        ("bad.json", '{"memories": [], "questions": []}', ["no question"]),
        ("bad.json", "[{}]", ["conversation 0"]),
    ],
)
def test_a_malformed_memory_set_names_the_file_and_the_place(
    world: World, tmp_path: Path, name: str, text: str, fragments: list[str]
) -> None:
    one_line_error(mai("eval", "memory", write(tmp_path, name, text)), 2, name, *fragments)
    assert world.runs.runs == {}
