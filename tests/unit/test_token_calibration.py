"""Per-model calibration of the token estimate (`domain.agents.calibration`)."""

from __future__ import annotations

import pytest

from domain.agents.calibration import MAX_SCALE, MIN_SAMPLE_TOKENS, TokenCalibration


def test_unknown_model_keeps_the_raw_estimate() -> None:
    assert TokenCalibration().tokens("m", 1000) == 1000


def test_a_model_that_counts_more_raises_the_estimate() -> None:
    calibration = TokenCalibration()
    calibration.observe("smol", 1000, 1500)
    assert calibration.tokens("smol", 1000) == 1500
    assert calibration.tokens("other", 1000) == 1000  # kept per model


def test_samples_are_smoothed() -> None:
    calibration = TokenCalibration(smoothing=0.5)
    calibration.observe("m", 1000, 1200)
    calibration.observe("m", 1000, 1600)
    known = calibration.get("m")
    assert known is not None and known.samples == 2
    assert known.ratio == pytest.approx(1.4)


def test_never_below_the_raw_estimate() -> None:
    calibration = TokenCalibration()
    calibration.observe("big-vocab", 1000, 800)
    assert calibration.get("big-vocab") is not None
    assert calibration.tokens("big-vocab", 1000) == 1000


def test_bounded_above() -> None:
    calibration = TokenCalibration()
    calibration.observe("odd", 100, 100_000)
    assert calibration.scale("odd") == MAX_SCALE


def test_tiny_or_empty_samples_are_ignored() -> None:
    calibration = TokenCalibration()
    calibration.observe("m", MIN_SAMPLE_TOKENS - 1, 500)
    calibration.observe("m", 1000, 0)
    assert calibration.get("m") is None


def test_bounded_number_of_models() -> None:
    calibration = TokenCalibration(max_models=2)
    for name in ("a", "b", "c"):
        calibration.observe(name, 100, 200)
    assert calibration.get("a") is None and calibration.get("c") is not None


def test_smoothing_must_be_a_weight() -> None:
    with pytest.raises(ValueError):
        TokenCalibration(smoothing=0)


def test_the_scale_moves_in_steps_rounded_up() -> None:
    calibration = TokenCalibration()
    calibration.observe("m", 1000, 1030)
    assert calibration.scale("m") == pytest.approx(1.1)
    calibration.observe("m", 1000, 1060)  # the ratio wobbles, the scale stays
    assert calibration.scale("m") == pytest.approx(1.1)
