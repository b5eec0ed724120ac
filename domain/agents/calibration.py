"""Calibrating the token estimate per model from what the server counted.

`ApproximateTokenCounter` is within ±10-20% of real tokenizers for most text, but a small
vocabulary (SmolLM2, GPT-2) spends up to 2× more tokens on Cyrillic or CJK than estimated,
and the chat template adds tokens per message that the estimate never sees. Every server
reports `usage.prompt_tokens`, and some can count exactly (a tokenize endpoint): each such
count of a request the estimate also priced is a sample of `actual / estimate`.

`TokenCalibration` keeps, per model, an exponentially smoothed ratio of those samples and
hands out a scale for the estimate. The scale is bounded to `[1, MAX_SCALE]`: calibration
only ever raises a count (an overestimate is the safe side, and the budget's margin stays
on top), and one odd sample cannot blow a budget up. Tiny requests are ignored: their ratio
is mostly noise from fixed per-message overhead.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

MIN_SCALE = 1.0
MAX_SCALE = 3.0
SMOOTHING = 0.3  # weight of a new sample
MIN_SAMPLE_TOKENS = 64  # requests estimated smaller than this teach nothing
# The scale moves in steps (rounded up), so a budget, and the fold points the prefix cache
# depends on, stays put while the smoothed ratio wobbles between turns.
SCALE_STEP = 0.1


@dataclass(frozen=True, slots=True)
class Calibrated:
    ratio: float  # smoothed actual / estimate (unbounded, for reporting)
    samples: int


class TokenCalibration:
    """Per-model `actual / estimate` ratios; thread-safe, in process (a restart relearns
    from the next few turns)."""

    def __init__(self, *, smoothing: float = SMOOTHING, max_models: int = 256) -> None:
        if not 0 < smoothing <= 1:
            raise ValueError("0 < smoothing <= 1")
        self._smoothing = smoothing
        self._max_models = max_models
        self._models: dict[str, Calibrated] = {}
        self._lock = threading.Lock()

    def observe(self, model: str, estimated: int, actual: int) -> None:
        """One request the estimate priced at `estimated` and the server counted `actual`."""
        if estimated < MIN_SAMPLE_TOKENS or actual <= 0:
            return
        sample = actual / estimated
        with self._lock:
            known = self._models.get(model)
            if known is None:
                if len(self._models) >= self._max_models:
                    self._models.pop(next(iter(self._models)))
                self._models[model] = Calibrated(sample, 1)
                return
            ratio = known.ratio + self._smoothing * (sample - known.ratio)
            self._models[model] = Calibrated(ratio, known.samples + 1)

    def get(self, model: str) -> Calibrated | None:
        return self._models.get(model)

    def scale(self, model: str) -> float:
        """What to multiply the estimate by for `model`: 1 until a sample says more."""
        known = self._models.get(model)
        if known is None:
            return MIN_SCALE
        stepped = math.ceil(round(known.ratio / SCALE_STEP, 6)) * SCALE_STEP
        return round(min(MAX_SCALE, max(MIN_SCALE, stepped)), 6)

    def tokens(self, model: str, estimated: int) -> int:
        """`estimated` scaled for `model`, rounded up."""
        return math.ceil(estimated * self.scale(model))
