"""R: the composite diffusion score, its formula, and labels with hysteresis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadening.config import HysteresisConfig
from broadening.signals.regime import (
    components,
    diffusion_score,
    hysteresis_labels,
    regime,
    regime_labels,
    switch_count,
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


def test_dwell_by_hand():
    h = HysteresisConfig(smooth_span=1, enter_diffusion=0.6, exit_diffusion=0.52, enter_scarcity=0.4,
                         exit_scarcity=0.48, min_days=1, min_dwell=3)
    # diffusion held 3 days before it may leave; transition -> scarcity carries on (no wait);
    # scarcity -> diffusion is a reversal, so it waits out the dwell and then is one change
    score = [0.7, 0.5, 0.5, 0.5, 0.3, 0.3, 0.7, 0.7, 0.7, 0.7]
    assert hysteresis_labels(np.array(score), h).tolist() == [
        "diffusion", "diffusion", "diffusion", "transition", "scarcity", "scarcity", "scarcity",
        "diffusion", "diffusion", "diffusion",
    ]
    # back from transition to the regime it came from is a reversal: it waits too
    score = [0.7, 0.5, 0.5, 0.5, 0.7, 0.7, 0.7]
    assert hysteresis_labels(np.array(score), h).tolist() == [
        "diffusion", "diffusion", "diffusion", "transition", "transition", "transition", "diffusion",
    ]


_OPPOSITE = {"scarcity": "diffusion", "diffusion": "scarcity"}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), dwell=st.integers(1, 40), days=st.integers(1, 10))
def test_no_reversal_inside_the_dwell(seed, dwell, days):
    rng = np.random.default_rng(seed)
    score = np.clip(0.5 + np.cumsum(rng.normal(0, 0.04, 600)), 0, 1)
    h = HysteresisConfig(smooth_span=1, enter_diffusion=0.6, exit_diffusion=0.52, enter_scarcity=0.4,
                         exit_scarcity=0.48, min_days=days, min_dwell=dwell)
    lab = hysteresis_labels(score, h)
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    spells = [(lab[a], b - a) for a, b in zip(starts, np.r_[starts[1:], len(lab)], strict=True)]
    for i in range(1, len(spells) - 1):  # the first spell is the default, the last is cut off
        (prev, _), (cur, n), (nxt, _) = spells[i - 1], spells[i], spells[i + 1]
        onward = cur == "transition" and nxt == _OPPOSITE.get(prev)
        assert onward or n >= dwell, (spells[i - 1: i + 2], dwell)


def test_switch_count_by_hand():
    labels = ["n/a", "transition", "transition", "diffusion", "diffusion", "diffusion", "transition"]
    sc = switch_count(pd.Series(labels))
    assert sc["switches"] == 2 and sc["years"] == pytest.approx(6 / 252)
    assert sc["per_year"] == pytest.approx(2 / (6 / 252)) and sc["median_spell_days"] == 2.0
    assert np.isnan(switch_count(["n/a"])["per_year"])


def test_the_regime_is_a_structural_call_on_the_synthetic_market(tiny_market):
    labels = regime_labels(tiny_market)
    sc = switch_count(labels)
    # a multi-year call: components need two years of history after a one-year change
    first = labels.ne("n/a").to_numpy().argmax()
    assert first >= 504
    assert sc["years"] > 7 and sc["per_year"] <= 1.5
    assert sc["switches"] == 9  # 2016-2025 tiny market: four calls each way and a last onward move


def test_weights_change_the_score(tiny_market):
    from broadening.config import load_config

    only_c1 = load_config().with_overrides({"regime": {"weights": {"C1": 1.0, "C2": 0.0, "C3": 0.0, "C4": 0.0, "C5": 0.0, "C9": 0.0},
                                                       "hysteresis": {"smooth_span": 1}}})
    s = diffusion_score(tiny_market, only_c1)
    c1 = components(tiny_market, only_c1)["C1"]
    ok = c1.notna()
    np.testing.assert_allclose(s[ok], c1[ok])
    assert s.iloc[-1] == pytest.approx(c1.iloc[-1])


@pytest.mark.parametrize("key, value", [("min_history", 0), ("horizon", 1.5)])
def test_bad_regime_history_names_the_key(key, value):
    from broadening.config import load_config
    from broadening.errors import ConfigError

    with pytest.raises(ConfigError, match=f"regime.{key}"):
        load_config().with_overrides({"regime": {key: value}})
