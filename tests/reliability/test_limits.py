"""Limits: a sweep grid too big to run is refused before any work; the run time is estimated first."""

from __future__ import annotations

import time

import pytest

from broadening.errors import LimitError
from broadening.sweep.grid import MAX_VARIANTS, estimate_seconds, parse_grid, variant_count


def million_variant_grid() -> dict:
    # 2 x 2 x 100 x 100 x 25 = 1,000,000 variants: about half a day of work
    return {"grid": {"schedule": ["weekly", "monthly"], "regime_scaling": [True, False],
                     "top_k": list(range(1, 101)), "cap": [round(0.01 * i, 2) for i in range(1, 101)],
                     "sleeves": {f"s{i}": {"equal_weight_core": 1.0} for i in range(25)}}}


def test_limits_a_million_variants_is_refused_at_once():
    t0 = time.perf_counter()
    with pytest.raises(LimitError) as err:
        parse_grid(million_variant_grid(), "big.toml")
    assert time.perf_counter() - t0 < 2  # refused before building any variant
    msg = str(err.value)
    assert "big.toml" in msg and "1,000,000 variants" in msg and f"{MAX_VARIANTS:,}" in msg and "--max-variants" in msg


def test_limits_the_limit_can_be_raised():
    doc = {"grid": {"top_k": [1, 2, 3], "cap": [0.02, 0.04]}}
    with pytest.raises(LimitError):
        parse_grid(doc, "g.toml", max_variants=5)
    g = parse_grid(doc, "g.toml", max_variants=6)
    assert len(g.variants) == variant_count(g) == 6


def test_limits_walk_forward_splits_count_too():
    doc = {"grid": {"top_k": [1, 2]}, "walk_forward": {"splits": [
        {"train": ["2010-01-01", "2014-12-31"], "test_end": "2016-12-31"},
        {"train": ["2012-01-01", "2016-12-31"], "test_end": "2018-12-31"}]}}
    with pytest.raises(LimitError, match="2 splits"):
        parse_grid(doc, "g.toml", max_variants=3)


def test_limits_estimate_scales_with_work_and_workers():
    one = estimate_seconds(100, 5000, 2000, 1)
    assert one > 0
    assert estimate_seconds(200, 5000, 2000, 1) == pytest.approx(2 * one)
    assert estimate_seconds(100, 5000, 2000, 4) == pytest.approx(one / 4)
    assert estimate_seconds(100, 5000, 2000, 0) == pytest.approx(one)  # serial


def test_limits_cli_refuses_before_loading_anything(cli, loaded, tmp_path):
    g = tmp_path / "g.toml"
    g.write_text("[grid]\ntop_k = [1, 2, 3]\ncap = [0.02, 0.04]\n")
    cli("--warehouse", loaded, "sweep", "--grid", g, "--max-variants", "5").assert_clear_error(
        "g.toml", "6 variants", "--max-variants")
    cli("--warehouse", loaded, "sweep", "--grid", g, "--max-variants", "0").assert_clear_error("--max-variants")
