"""The loaded prompt files: every version of every prompt, compiled once.

Kept apart from `PromptManager` (which adds rendering, caching and hot reload) so that the
bookkeeping of "which file holds which versions, and what changed" stays small and exact.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from jinja2 import Template, TemplateSyntaxError

from application.prompts.sandbox import PromptSandbox
from domain.errors import ConfigurationError
from domain.prompts.models import PromptTemplate
from domain.prompts.ports import PromptSource


@dataclass(frozen=True, slots=True)
class Entry:
    """One prompt version with its compiled template and a digest of its content (part of
    every cache key, so a changed template can never be answered from a stale cache)."""

    prompt: PromptTemplate
    compiled: Template
    digest: str
    file: str


@dataclass(frozen=True, slots=True)
class LoadedFile:
    stamp: float
    entries: tuple[Entry, ...]


Index = dict[str, dict[str, Entry]]  # name → version → entry


def compile_prompt(sandbox: PromptSandbox, file: str, prompt: PromptTemplate) -> Entry:
    """Compile one version, failing with the file, the prompt and the problem."""
    try:
        compiled = sandbox.from_string(prompt.template)
        undeclared = sandbox.undeclared(prompt.template) - set(prompt.variables)
    except TemplateSyntaxError as exc:
        raise ConfigurationError(
            f"{file}: prompt {prompt.ref} has a template error at line {exc.lineno}: {exc.message}",
            details={"file": file, "prompt": prompt.ref, "line": exc.lineno},
        ) from None
    if undeclared:
        raise ConfigurationError(
            f"{file}: prompt {prompt.ref} uses undeclared variables {sorted(undeclared)} "
            "(declare them under `variables:`)",
            details={"file": file, "prompt": prompt.ref, "undeclared": sorted(undeclared)},
        )
    content = prompt.model_dump_json(exclude={"description", "tags", "group"})
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    return Entry(prompt, compiled, digest, file)


def read_file(source: PromptSource, sandbox: PromptSandbox, file: str, stamp: float) -> LoadedFile:
    entries = tuple(compile_prompt(sandbox, file, p) for p in source.read(file))
    return LoadedFile(stamp, entries)


def build_index(files: dict[str, LoadedFile]) -> Index:
    """Every version by name; one name@version in two files is a configuration error."""
    index: Index = {}
    for loaded in files.values():
        for entry in loaded.entries:
            versions = index.setdefault(entry.prompt.name, {})
            clash = versions.get(entry.prompt.version)
            if clash is not None:
                raise ConfigurationError(
                    f"{entry.file}: prompt {entry.prompt.ref} is already defined in {clash.file}",
                    details={"file": entry.file, "prompt": entry.prompt.ref},
                )
            versions[entry.prompt.version] = entry
    return index


def names_in(*files: LoadedFile | None) -> set[str]:
    return {e.prompt.name for f in files if f is not None for e in f.entries}
