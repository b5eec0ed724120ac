"""Prompt templates from YAML files: `<dir>/<group>/<name>.yaml`.

A file holds one version (its fields at the top level) or several (a `versions:` list;
fields at the top level are shared by every entry, an entry's own fields win, and its
`variables` / `model_settings` are merged into the shared ones). The file
name is the prompt's name unless the file says `name:`. Everything is validated here, so a
broken file fails start-up with its path and the field at fault.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from adapters.config.yaml_files import read_mapping
from domain.errors import ConfigurationError
from domain.prompts.models import PromptTemplate


class YamlPromptSource:
    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    def scan(self) -> dict[str, float]:
        if not self._dir.is_dir():
            return {}
        stamps: dict[str, float] = {}
        for path in sorted(self._dir.rglob("*.y*ml")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                try:
                    stamps[str(path)] = path.stat().st_mtime_ns / 1e9
                except OSError:  # removed between the listing and the stat
                    continue
        return stamps

    def read(self, file: str) -> list[PromptTemplate]:
        path = Path(file)
        raw = _load_yaml(path)
        group = path.parent.relative_to(self._dir).as_posix() if path.parent != self._dir else ""
        shared = {k: v for k, v in raw.items() if k != "versions"}
        shared.setdefault("name", path.stem)
        shared["group"] = group
        entries = raw.get("versions")
        if entries is None:
            return [_validate(path, shared, "")]
        if not isinstance(entries, list) or not entries:
            raise ConfigurationError(
                f"{path}: `versions` must be a non-empty list of prompt versions",
                details={"file": str(path), "field": "versions"},
            )
        found: dict[str, int] = {}
        prompts = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ConfigurationError(
                    f"{path}: versions.{i} must be a mapping of prompt fields",
                    details={"file": str(path), "field": f"versions.{i}"},
                )
            prompt = _validate(path, _merged(shared, entry), f"versions.{i}.")
            if prompt.version in found:
                raise ConfigurationError(
                    f"{path}: version {prompt.version} of {prompt.name!r} appears twice "
                    f"(versions.{found[prompt.version]} and versions.{i})",
                    details={"file": str(path), "field": f"versions.{i}.version"},
                )
            found[prompt.version] = i
            prompts.append(prompt)
        return prompts


def _merged(shared: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's fields over the shared ones; mappings (`variables`, `model_settings`) are
    merged key by key, so a version can add one variable without repeating the rest."""
    out = dict(shared)
    for key, value in entry.items():
        base = out.get(key)
        out[key] = (
            {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
        )
    return out


def _load_yaml(path: Path) -> dict[str, Any]:
    return read_mapping(path, "prompt")


def _validate(path: Path, fields: dict[str, Any], where: str) -> PromptTemplate:
    try:
        return PromptTemplate.model_validate(fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = where + (".".join(str(p) for p in err["loc"]) or "(root)")
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(
            f"{path}: invalid prompt field {field}: {message}",
            details={"file": str(path), "field": field},
        ) from None
