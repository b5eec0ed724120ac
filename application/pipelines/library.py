"""Small, dependency-free functions for `callable` stages of declared pipelines.

Referenced from YAML as `application.pipelines.library:<name>`. Each takes one input (what
the stage receives) and is annotated, so an unmapped stage is type-checked against the
stage that feeds it. They cover the glue most text pipelines need: splitting, counting,
merging and joining, so a pipeline file rarely needs custom Python for it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

__all__ = [
    "WordCount",
    "bullet_points",
    "collect",
    "halves",
    "join_texts",
    "merge_counts",
    "split_lines",
    "sum_expression",
    "word_count",
]

_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_BULLET = re.compile(r"^\s*(?:[-*•+]|\d+[.)])\s+")


class WordCount(TypedDict):
    """Word statistics of some documents: how many, their words, and each word's count
    (lower-cased, most frequent first, ties alphabetical)."""

    documents: int
    words: int
    counts: dict[str, int]


def split_lines(text: str) -> list[str]:
    """The non-blank lines of a text, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def bullet_points(text: str) -> list[str]:
    """The points of a bulleted or numbered list as plain strings (markers removed), e.g.
    to turn a model's "key points" answer into data."""
    return [_BULLET.sub("", line).strip() for line in split_lines(text) if _BULLET.sub("", line)]


def halves(items: Sequence[Any]) -> dict[str, list[Any]]:
    """Split a list into `first` and `second` halves (the first gets the odd item): the
    fan-out of a list over two parallel branches."""
    middle = (len(items) + 1) // 2
    return {"first": list(items[:middle]), "second": list(items[middle:])}


def word_count(texts: str | Sequence[str]) -> WordCount:
    """Count the words of one text or of each text of a list."""
    documents = [texts] if isinstance(texts, str) else list(texts)
    counter: Counter[str] = Counter()
    for document in documents:
        counter.update(word.lower() for word in _WORD.findall(document))
    return {"documents": len(documents), "words": sum(counter.values()), "counts": _sorted(counter)}


def merge_counts(parts: Mapping[str, WordCount]) -> WordCount:
    """Merge the word counts of several stages (the dict a stage with several
    dependencies receives) into one: the fan-in of `word_count` branches."""
    counter: Counter[str] = Counter()
    documents = 0
    for part in parts.values():
        documents += part["documents"]
        counter.update(part["counts"])
    return {"documents": documents, "words": sum(counter.values()), "counts": _sorted(counter)}


def sum_expression(numbers: Sequence[float] | Mapping[str, float]) -> str:
    """An arithmetic expression adding the numbers ("3 + 4 + 5"), for the `calculator`
    tool to evaluate exactly; "0" when there are none."""
    values = list(numbers.values()) if isinstance(numbers, Mapping) else list(numbers)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"sum_expression takes numbers, not {type(value).__name__}")
    return " + ".join(repr(v) for v in values) or "0"


def join_texts(texts: Sequence[str] | Mapping[str, str]) -> str:
    """Texts (a list, or several stages' outputs by name) as one, separated by blank lines."""
    values = list(texts.values()) if isinstance(texts, Mapping) else list(texts)
    return "\n\n".join(str(text).strip() for text in values if str(text).strip())


def collect(values: Mapping[str, Any]) -> dict[str, Any]:
    """The input mapping as a plain dict: a fan-in stage whose `input:` names the results
    to report, so a pipeline's output can gather several stages' outputs."""
    return dict(values)


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))
