"""The Dockerfile agrees with the code: multi-stage, a non-root runtime stage, every package
the wheel ships copied in, and a .dockerignore that keeps what the build needs."""

from __future__ import annotations

import json
import re
import tomllib

from tests.unit.deployment_files import (
    ROOT,
)


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "Dockerfile ends in a continuation"
    result = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        result.append((instruction.upper(), args.strip()))
    return result


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction, args in _dockerfile_instructions():
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, args))
    return stages


def _global_args() -> dict[str, str]:
    result = {}
    for instruction, args in _dockerfile_instructions():
        if instruction == "FROM":
            break
        if instruction == "ARG" and "=" in args:
            key, value = args.split("=", 1)
            result[key] = value
    return result


def _required_runtime_paths() -> list[str]:
    """What the application needs at run time: what the wheel ships, plus the files read
    from the working directory (agent/prompt/pipeline definitions, alembic.ini)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]
    required = [*shipped, "config", "alembic.ini", "pyproject.toml"]
    for must in ("domain", "application", "adapters", "entrypoints", "container.py"):
        assert must in required, must
    return required


def test_dockerfile_is_multi_stage() -> None:
    stages = _stages()
    assert len(stages) >= 2
    named = [args for stage in stages for instruction, args in stage if instruction == "FROM"]
    assert all(re.search(r"\sAS\s+\w+$", f, re.IGNORECASE) for f in named), named
    base = named[-1].split()[0]
    for key, value in _global_args().items():
        base = base.replace(f"${{{key}}}", value)
    assert base == "python:3.11-slim", base
    builder = " ".join(args for instruction, args in stages[0] if instruction == "RUN")
    assert "uv sync --frozen --no-dev" in builder


def test_dockerfile_runtime_stage() -> None:
    runtime = _stages()[-1]
    instructions = dict(runtime)
    user = instructions.get("USER", "")
    assert user and user.split(":")[0] not in ("root", "0"), f"USER {user!r}"
    assert "/health" in instructions.get("HEALTHCHECK", ""), "no HEALTHCHECK on /health"
    assert "urllib" in instructions["HEALTHCHECK"]
    assert "8000" in instructions.get("EXPOSE", "").split()
    assert json.loads(instructions["CMD"]) == [
        "mai", "serve", "--host", "0.0.0.0", "--port", "8000",
    ]  # fmt: skip
    copied = [args for instruction, args in runtime if instruction == "COPY"]
    assert any("--from=builder" in args and "/app/.venv" in args for args in copied)


def test_dockerfile_copies_every_runtime_package() -> None:
    sources: set[str] = set()
    for instruction, args in _stages()[-1]:
        if instruction == "COPY" and "--from=" not in args:
            parts = [p for p in args.split() if not p.startswith("--")]
            sources |= {p.rstrip("/") for p in parts[:-1]}
    missing = [path for path in _required_runtime_paths() if path not in sources]
    assert not missing, f"the runtime stage does not copy {missing}"
    for path in sources:
        assert (ROOT / path).exists(), f"COPY {path}: no such file"


def test_dockerignore_keeps_what_the_build_needs() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for path in [*_required_runtime_paths(), "uv.lock", "README.md"]:
        assert path not in ignored, f".dockerignore drops {path}"
    for secret in (".env", ".venv", ".mai", ".git"):
        assert secret in ignored, f".dockerignore must drop {secret}"
