"""Where prompt files come from. The manager needs to list the files with a change stamp
(to reload only what changed) and to read one file into its prompt versions."""

from __future__ import annotations

from typing import Protocol

from domain.prompts.models import PromptTemplate


class PromptSource(Protocol):
    def scan(self) -> dict[str, float]:
        """Every prompt file, by an id the source understands (its path), with a stamp
        that changes when the file does (its mtime)."""
        ...

    def read(self, file: str) -> list[PromptTemplate]:
        """The prompt versions in one file. Raises `ConfigurationError` naming the file and
        the problem when it is not valid."""
        ...
