"""Constraint helpers hold for any weights (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from broadening.playbook.algos import cap_weights, sector_fit

SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def weights(draw, min_n=2, max_n=30):
    n = draw(st.integers(min_n, max_n))
    raw = draw(arrays(np.float64, (n,), elements=st.floats(0.0, 1.0)))
    assume(raw.sum() > 1e-6)
    return raw / raw.sum()


@SETTINGS
@given(weights(), st.floats(0.01, 1.0))
@example(np.array([5e-324, 1.0]), 0.75)  # found by hypothesis: a subnormal name must take the whole excess
def test_cap_weights_never_exceeds_limit_and_keeps_total_when_possible(w, limit):
    out = cap_weights(w, limit)
    assert out.max() <= limit + 1e-12
    assert out.min() >= 0
    held = int((w > 0).sum())
    if held * limit >= 1.0 + 1e-9:
        assert abs(out.sum() - 1.0) < 1e-9
    else:
        assert out.sum() <= 1.0 + 1e-12
    # names not held stay out
    assert np.all(out[w == 0] == 0)


@SETTINGS
@given(weights(min_n=4), st.data())
def test_sector_fit_meets_feasible_bounds_and_keeps_total(w, data):
    n = len(w)
    labels = np.array(data.draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n, max_size=n)))
    held = {s for s in "ABC" if w[labels == s].sum() > 0}
    assume(len(held) >= 2)
    s1 = data.draw(st.sampled_from(sorted(held)))
    hi = data.draw(st.floats(0.05, 0.95))
    others = held - {s1}
    # the other held sectors can absorb what s1 gives up
    out = sector_fit(w, labels, {s1: (0.0, hi)})
    assert out[labels == s1].sum() <= hi + 1e-9
    assert abs(out.sum() - 1.0) < 1e-9
    assert out.min() >= 0
    for s in others:
        assert out[labels == s].sum() >= w[labels == s].sum() - 1e-12


@SETTINGS
@given(weights(min_n=4), st.data())
def test_sector_fit_upper_and_lower_bounds_together(w, data):
    n = len(w)
    labels = np.array(data.draw(st.lists(st.sampled_from(["A", "B", "C"]), min_size=n, max_size=n)))
    assume(all(w[labels == s].sum() > 0 for s in "ABC"))
    hi = data.draw(st.floats(0.05, 0.9))
    lo = data.draw(st.floats(0.0, 1.0 - hi))
    bounds = {"A": (0.0, hi), "B": (lo, 1.0)}
    out = sector_fit(w, labels, bounds)
    assert out[labels == "A"].sum() <= hi + 1e-8
    assert out[labels == "B"].sum() >= lo - 1e-8
    assert abs(out.sum() - 1.0) < 1e-9
    assert out.min() >= 0


def test_sector_fit_with_subnormal_weights():
    """Found by hypothesis: scaling a sector of 5e-324 weights overflowed to inf, then NaN."""
    w = np.array([1.0, 5e-324, 5e-324, 5e-324, 5e-324, 5e-324])
    labels = np.array(list("AAAABC"))
    for lo in (0.0, 2.2e-16):
        out = sector_fit(w, labels, {"A": (0.0, 0.5), "B": (lo, 1.0)})
        assert np.isfinite(out).all() and out.min() >= 0
        assert out[labels == "A"].sum() <= 0.5 + 1e-8
        assert abs(out.sum() - 1.0) < 1e-9


def test_sector_fit_gives_free_sectors_nothing_when_bounds_take_everything():
    # found by hypothesis: A capped at 75% and B floored at 25% leave nothing for C
    w = np.full(10, 0.1)
    labels = np.array(["A"] * 8 + ["B", "C"])
    out = sector_fit(w, labels, {"A": (0.0, 0.75), "B": (0.25, 1.0)})
    np.testing.assert_allclose([out[labels == s].sum() for s in "ABC"], [0.75, 0.25, 0.0], atol=1e-12)
    assert abs(out.sum() - 1.0) < 1e-12
