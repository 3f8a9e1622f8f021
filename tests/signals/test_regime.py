"""R: the composite diffusion score, its formula, and labels with hysteresis."""

from __future__ import annotations

import numpy as np
import pytest

from broadening.config import HysteresisConfig
from broadening.signals.regime import (
    components,
    diffusion_score,
    hysteresis_labels,
    regime,
    regime_labels,
)

H = HysteresisConfig(smooth_span=1, enter_diffusion=0.6, exit_diffusion=0.52, enter_scarcity=0.4,
                     exit_scarcity=0.48, min_days=2)


def test_hysteresis_by_hand():
    score = [np.nan, 0.5, 0.65, 0.7, 0.55, 0.5, 0.5, 0.35, 0.3, 0.45, 0.5, 0.5]
    assert hysteresis_labels(np.array(score), H).tolist() == [
        "n/a", "transition", "transition", "diffusion", "diffusion", "diffusion", "transition",
        "transition", "scarcity", "scarcity", "scarcity", "transition",
    ]


def test_hysteresis_does_not_flip_on_noise_around_one_threshold():
    rng = np.random.default_rng(0)
    score = 0.6 + rng.normal(0, 0.03, 500)  # hovers around enter_diffusion
    labels = hysteresis_labels(score, H)
    flips = int((labels[1:] != labels[:-1]).sum())
    naive = int(((score[1:] >= 0.6) != (score[:-1] >= 0.6)).sum())
    assert flips < naive / 10


def test_score_is_the_weighted_mean_of_components(tiny_market):
    from broadening.config import load_config

    cfg = load_config().with_overrides({"regime": {"hysteresis": {"smooth_span": 1}}})
    comp = components(tiny_market, cfg)
    w = cfg.regime.weights
    expect = sum(comp[c].fillna(0) * w[c] for c in comp) / sum(comp[c].notna() * w[c] for c in comp)
    got = diffusion_score(tiny_market, cfg)
    ok = got.notna()
    assert ok.sum() > 1000
    np.testing.assert_allclose(got[ok], expect[ok].clip(0, 1))
    assert ((got[ok] >= 0) & (got[ok] <= 1)).all()
    reg = regime(tiny_market, cfg)
    assert list(reg.columns) == ["s_C1", "s_C2", "s_C3", "s_C4", "s_C5", "s_C9", "raw_score", "diffusion_score", "regime"]


def test_labels_are_stable_on_the_synthetic_market(tiny_market):
    labels = regime_labels(tiny_market)
    known = labels[labels != "n/a"]
    assert set(known.unique()) <= {"scarcity", "transition", "diffusion"}
    flips = int((known.to_numpy()[1:] != known.to_numpy()[:-1]).sum())
    assert flips < len(known) / 20  # a regime lasts weeks, not days


def test_weights_change_the_score(tiny_market):
    from broadening.config import load_config

    only_c1 = load_config().with_overrides({"regime": {"weights": {"C1": 1.0, "C2": 0.0, "C3": 0.0, "C4": 0.0, "C5": 0.0, "C9": 0.0},
                                                       "hysteresis": {"smooth_span": 1}}})
    s = diffusion_score(tiny_market, only_c1)
    c1 = components(tiny_market, only_c1)["C1"]
    ok = c1.notna()
    np.testing.assert_allclose(s[ok], c1[ok])
    assert s.iloc[-1] == pytest.approx(c1.iloc[-1])
