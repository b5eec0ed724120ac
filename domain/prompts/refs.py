"""How an agent names a prompt: `name` (the latest release) or `name@version` (pinned).

Apart from the models so that agent definitions can validate a reference without importing
the prompt models (which use the agents' `ModelParams`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.prompts.semver import SemVer

PROMPT_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


@dataclass(frozen=True, slots=True)
class PromptRef:
    """`name` (the latest release) or `name@version` (pinned), as agents name prompts."""

    name: str
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> PromptRef:
        name, sep, version = text.strip().partition("@")
        if not PROMPT_NAME_RE.match(name):
            raise ValueError(f"{text!r}: prompt name must be 2-64 chars of a-z, 0-9, '-', '_', '.'")
        if not sep:
            return cls(name)
        return cls(name, str(SemVer.parse(version)))

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"
