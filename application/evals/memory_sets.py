"""Retrieval sets for `mai eval memory`, read from three formats:

- **LoCoMo** (a JSON list; see `../shared/data/README.md`): one user per conversation, one
  memory per dialogue turn (`"Speaker: text"`, metadata `dia_id`, `session`, `date`);
  questions of category 5 (adversarial, no evidence) are skipped.
- **JSONL** of the user's own data, one object a line: `{"id": "m1", "memory": "…"}` (with
  optional `metadata`) and `{"question": "…", "evidence": ["m1", …]}`; one user.
- **JSON** `{"memories": [{"id", "content"}…], "questions": [{"q", "evidence"}…]}`, the
  shape of the shipped `bench/data/memory_qa.json`; one user.

Bad input names the file and the line or item and the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import NotFound, ValidationFailed

ADVERSARIAL = 5  # LoCoMo's category without evidence


@dataclass(frozen=True, slots=True)
class SetMemory:
    key: str
    content: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetQuestion:
    text: str
    evidence: frozenset[str]


@dataclass(slots=True)
class SetUser:
    memories: list[SetMemory] = field(default_factory=list)
    questions: list[SetQuestion] = field(default_factory=list)


@dataclass(slots=True)
class RetrievalSet:
    name: str
    users: list[SetUser]
    skipped: int = 0  # questions left out (adversarial, or evidence naming no memory)


def _bad(path: Path, where: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {where}: {problem}", details={"file": str(path), "at": where})


def _text(path: Path, where: str, value: Any, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(path, where, f"field {name!r} must be non-empty text")
    return value


def _evidence(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise _bad(path, where, "field 'evidence' must be a list of memory ids")
    # LoCoMo writes a few as "D8:6; D9:17".
    return [part.strip() for e in value for part in e.split(";") if part.strip()]


def _finish(user: SetUser, raw: list[tuple[str, list[str]]]) -> int:
    """Keep questions whose evidence names known memories; count the rest."""
    known = {m.key for m in user.memories}
    skipped = 0
    for text, evidence in raw:
        found = frozenset(e for e in evidence if e in known)
        if found:
            user.questions.append(SetQuestion(text, found))
        else:
            skipped += 1
    return skipped


def _locomo(path: Path, data: list[Any], conversations: int | None) -> RetrievalSet:
    users, skipped = [], 0
    chosen = data if conversations is None else data[:conversations]
    for n, item in enumerate(chosen):
        where = f"conversation {n}"
        conv = item.get("conversation") if isinstance(item, dict) else None
        if not isinstance(conv, dict) or not isinstance(item.get("qa"), list):
            raise _bad(path, where, "needs 'conversation' and 'qa'")
        user = SetUser()
        sessions = sorted(
            (k for k in conv if k.startswith("session_") and isinstance(conv[k], list)),
            key=lambda k: int(k.removeprefix("session_")),
        )
        for session in sessions:
            date = conv.get(f"{session}_date_time", "")
            for turn in conv[session]:
                dia = _text(path, f"{where} {session}", turn.get("dia_id"), "dia_id")
                text = _text(path, f"{where} {dia}", turn.get("text"), "text")
                meta = {"dia_id": dia, "session": session, "date": date}
                user.memories.append(SetMemory(dia, f"{turn.get('speaker', '?')}: {text}", meta))
        raw = []
        for i, qa in enumerate(item["qa"]):
            if qa.get("category") == ADVERSARIAL:
                skipped += 1
                continue
            q = _text(path, f"{where} qa {i}", qa.get("question"), "question")
            raw.append((q, _evidence(path, f"{where} qa {i}", qa.get("evidence", []))))
        skipped += _finish(user, raw)
        users.append(user)
    suffix = "" if conversations is None else f"[:{conversations}]"
    return RetrievalSet(path.stem + suffix, users, skipped)


def _simple(path: Path, memories: list[Any], questions: list[Any]) -> RetrievalSet:
    user = SetUser()
    for i, m in enumerate(memories):
        where = f"memory {i}"
        if not isinstance(m, dict):
            raise _bad(path, where, "must be an object")
        key = _text(path, where, m.get("id"), "id")
        content = _text(path, where, m.get("content", m.get("memory")), "memory")
        user.memories.append(SetMemory(key, content, dict(m.get("metadata") or {})))
    raw = []
    for i, q in enumerate(questions):
        where = f"question {i}"
        if not isinstance(q, dict):
            raise _bad(path, where, "must be an object")
        text = _text(path, where, q.get("question", q.get("q")), "question")
        raw.append((text, _evidence(path, where, q.get("evidence"))))
    skipped = _finish(user, raw)
    return RetrievalSet(path.stem, [user], skipped)


def _jsonl(path: Path, text: str) -> RetrievalSet:
    memories, questions = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _bad(path, f"line {number}", f"not JSON ({exc.msg})") from None
        if isinstance(row, dict) and "question" in row:
            questions.append(row)
        elif isinstance(row, dict) and "memory" in row:
            memories.append(row)
        else:
            raise _bad(path, f"line {number}", "needs a 'memory' or a 'question' field")
    return _simple(path, memories, questions)


def load_retrieval_set(path: Path, conversations: int | None = None) -> RetrievalSet:
    if not path.is_file():
        raise NotFound(f"{path}: no such file.", details={"file": str(path)})
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        found = _jsonl(path, text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _bad(path, f"line {exc.lineno}", f"not JSON ({exc.msg})") from None
        if isinstance(data, list):
            found = _locomo(path, data, conversations)
        elif isinstance(data, dict) and {"memories", "questions"} <= set(data):
            found = _simple(path, list(data["memories"]), list(data["questions"]))
        else:
            raise _bad(path, "top level", "expected LoCoMo (a list) or {memories, questions}")
    if not any(u.questions for u in found.users):
        raise _bad(path, "questions", "no question has evidence among the memories")
    return found
