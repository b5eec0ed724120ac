"""Counting tokens without a tokenizer.

Budgets are enforced on every turn, so counting must be fast, dependency-free and
deterministic. A real tokenizer is not an option here: the domain imports only the
standard library, the model behind LM Studio is unknown until run time, and `tiktoken`
downloads its encodings on first use (no network, no count). `TokenCounter` is the seam:
pass a real tokenizer's counter where exactness matters.
"""

from __future__ import annotations

import functools
import math
from typing import Protocol, runtime_checkable


@runtime_checkable
class TokenCounter(Protocol):
    """How many tokens a model would see for `text`."""

    def count(self, text: str) -> int: ...


def _table(classes: dict[str, range | str]) -> bytes:
    """A 256-byte translation table: each byte to the class letter it belongs to, else space."""
    table = bytearray(b" " * 256)
    for letter, members in classes.items():
        for byte in members if isinstance(members, range) else members.encode():
            table[byte] = ord(letter)
    return bytes(table)


# One pass over the UTF-8 bytes classifies every character; counting is then C-speed
# `bytes.count`. A non-ASCII character is classified by its UTF-8 lead byte.
_CLASSES = _table(
    {
        "a": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0": "0123456789",
        ".": "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "\n": "\n",
        "l": range(0xC2, 0xE0),  # U+0080-07FF: accented Latin, Greek, Cyrillic, Hebrew, Arabic
        "s": range(0xE0, 0xE3),  # U+0800-2FFF: Indic, Thai…, and typographic punctuation
        "c": range(0xE3, 0xF0),  # U+3000-FFFF: CJK, kana, Hangul, full-width forms
        "e": range(0xF0, 0xF5),  # U+10000+: emoji and rare scripts
    }
)
_RUNS = {kind: _table({kind: kind}) for kind in "a0\n"}


def _runs(classes: bytes, kind: str) -> int:
    """How many maximal runs of `kind` there are (e.g. words for letters)."""
    only = classes.translate(_RUNS[kind])
    marker = kind.encode()
    return only.count(b" " + marker) + only.startswith(marker)


class ApproximateTokenCounter:
    """~4 characters per token, blended with a word count and corrected per script.

    A flat "characters / 4" is right for English prose and badly wrong elsewhere: JSON,
    ids and numbers run at ~2 characters per token, Cyrillic at ~3, Chinese and Japanese at
    ~1, an emoji at 1-3 tokens, so a window of tool results would be undercounted 2× and
    overflow the model. Here each class of text is priced on its own (a weighted sum fitted
    to real BPE tokenizers, rounded up a little, then rounded up to a whole token):

    - ASCII words: 0.3 per word + 1 per 4.5 letters (short common words are one token,
      long and rare ones split);
    - digit runs: 1 per run + 0.6 per digit (tokenizers split numbers into 1-3 digits);
    - ASCII punctuation: 0.5 each; newline runs: 0.75 each; spaces merge into words: free;
    - non-ASCII, by UTF-8 lead byte: U+0080-07FF (accents, Greek, Cyrillic, Arabic…) 0.4;
      U+0800-2FFF (Indic, Thai, typographic punctuation…) 1; U+3000-FFFF (CJK, kana,
      Hangul) 0.8; U+10000 and up (emoji…) 2.

    Cost: two translations and a few `bytes.count` passes over the UTF-8 bytes, ~8 µs for
    a chat sentence and ~0.6 ms for 16 KB.

    Measured on 117 sample texts (chat, prose, Python, JSON tool calls, ids, German,
    French, Spanish, Russian, Chinese, Japanese, emoji, Markdown) against real vocabularies
    run offline through llama.cpp, estimate / real per text:
    Llama 3 (a cl100k-style 128k BPE): median 1.15, 80% within 1.01-1.26, never below 0.92;
    Qwen2: median 1.12, 80% within 0.98-1.26; SmolLM2 (the embedded profile's model):
    median 0.97, 80% within 0.78-1.09 — so for large-vocabulary models the budget errs on
    the safe side. Small vocabularies (SmolLM2, GPT-2) spend 2× more tokens on Cyrillic,
    Chinese and Japanese than counted here: pass `scale` (or a real counter) for those.
    """

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale

    def count(self, text: str) -> int:
        if not text:
            return 0
        short = len(text) <= _REMEMBERED_CHARS
        estimate = _remembered(text) if short else _estimate(text)
        return max(1, math.ceil(estimate * self.scale))


#: Texts up to this long have their estimate remembered (4,096 of them: a few MB at most).
_REMEMBERED_CHARS = 1000


def _estimate(text: str) -> float:
    classes = text.encode("utf-8", "surrogatepass").translate(_CLASSES)
    letters = classes.count(b"a")
    digits = classes.count(b"0")
    estimate = (
        0.3 * _runs(classes, "a")
        + letters / 4.5
        + _runs(classes, "0")
        + 0.6 * digits
        + 0.5 * classes.count(b".")
        + 0.75 * _runs(classes, "\n")
    )
    if len(classes) != len(text):  # some non-ASCII
        estimate += (
            0.4 * classes.count(b"l")
            + 1.0 * classes.count(b"s")
            + 0.8 * classes.count(b"c")
            + 2.0 * classes.count(b"e")
        )
    return estimate


#: A conversation's messages are counted again on every turn (the window is fitted and the
#: next fold planned each time); a str keeps its hash, so a repeat is a dict lookup.
_remembered = functools.lru_cache(maxsize=4096)(_estimate)
