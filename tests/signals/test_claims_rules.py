"""The claims registry's verdict rules on tiny hand-made evidence series (#17): quantities named
by config-dependent columns, missing values given as None, the types decide() returns, and
the generated docs table for a claim the shipped config does not weigh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from broadening.config import load_config
from broadening.signals import claims as cl
from broadening.signals.claims import (
    REGISTRY,
    Both,
    ChartSpec,
    Claim,
    Condition,
    RegimeComponent,
    decide,
)
from broadening.signals.concentration import concentration

CFG = load_config()
K = CFG.universe.k  # 10 in the shipped config: the columns below read "top10_..."


def _extra(rule, regime=None) -> Claim:
    return Claim(
        id="C12", text="A made-up claim on the top-k", family=concentration, headline="hhi",
        metric=lambda cfg: "Herfindahl index", orientation=1, rule=rule,
        history_days=lambda cfg: 1, evidence=lambda v: "", regime=regime,
        chart=ChartSpec("chart-c12", "C12", "", series=(("hhi", "HHI"),)),
    )


# both quantities of the two tests are columns whose names depend on the config (top-k)
RULE = Both(Condition(lambda cfg: f"top{cfg.universe.k}_share", ">=", "share_min"),
            Condition("value", "<", against=lambda cfg: f"top{cfg.universe.k}_weight"))
CFG12 = dataclasses.replace(CFG, scorecard={**CFG.scorecard, "C12": {"share_min": 0.5}})


def test_config_named_columns_in_both_tests():
    # four dates: top-10 share 0.6, 0.6, 0.4, 0.4 against share_min 0.5 (pass, pass, fail, fail);
    # value 0.2, 0.6, 0.2, 0.6 below the top-10 weight 0.5 (pass, fail, pass, fail)
    values = {"value": np.array([0.2, 0.6, 0.2, 0.6]), f"top{K}_share": np.array([0.6, 0.6, 0.4, 0.4]),
              f"top{K}_weight": np.full(4, 0.5)}
    verdict, partial = decide(_extra(RULE), CFG12, values)
    assert verdict.tolist() == ["supported", "mixed", "mixed", "not supported"]
    assert partial.dtype == bool and not partial.any()
    # the column names come from the config: a top-5 config reads other columns
    cfg5 = dataclasses.replace(CFG12, universe=dataclasses.replace(CFG.universe, k=5))
    five = {"value": np.array([0.2]), "top5_share": np.array([0.4]), "top5_weight": np.array([0.1])}
    assert decide(_extra(RULE), cfg5, five)[0].tolist() == ["not supported"]


def test_missing_values_given_as_none_are_na():
    # plain lists with None (e.g. read back from JSON): a verdict where everything is known,
    # n/a where the value or the percentile is missing
    verdict, partial = decide(REGISTRY["C1"], CFG, {"value": [0.3, None, 0.3], "percentile": [0.9, 0.9, None]})
    assert verdict.tolist() == ["supported", "n/a", "n/a"]
    assert partial.dtype == bool and partial.tolist() == [False, False, False]
    c10 = {"value": [0.1, 0.1], "percentile": [0.5, 0.5], "topk_down_share": [0.5, None], "topk_weight": [0.4, 0.4]}
    assert decide(REGISTRY["C10"], CFG, c10)[0].tolist() == ["supported", "n/a"]


def test_partial_flags_are_booleans_where_the_optional_test_is_unknown():
    # C6: handoff > 0 and credit spread change <= threshold; the spread test is optional
    th = CFG.scorecard["C6"]
    hi, lo = th["spread_change_max"] - 0.1, th["spread_change_max"] + 0.1
    values = {"value": np.array([0.05, 0.05, -0.05, 0.05, -0.05]), "percentile": np.full(5, 0.5),
              "credit_spread_change": np.array([hi, lo, hi, np.nan, np.nan])}
    verdict, partial = decide(REGISTRY["C6"], CFG, values)
    assert verdict.tolist() == ["supported", "mixed", "mixed", "mixed", "not supported"]
    assert partial.dtype == bool and partial.tolist() == [False, False, False, True, True]
    # 2-D input: the same rule on a (2, 2) grid of dates x scenarios
    grid = {k: v[:4].reshape(2, 2) for k, v in values.items()}
    verdict, partial = decide(REGISTRY["C6"], CFG, grid)
    assert verdict.tolist() == [["supported", "mixed"], ["mixed", "mixed"]]
    assert partial.tolist() == [[False, False], [False, True]]


def test_percentile_window_of_a_claim():
    # C9's percentile runs over its own `years`; the other claims over history.window
    cfg = dataclasses.replace(CFG, scorecard={**CFG.scorecard, "C9": {**CFG.scorecard["C9"], "years": 5.0}})
    assert REGISTRY["C9"].window(cfg) == 1260
    assert REGISTRY["C1"].window(cfg) == CFG.history.window == 2520


def test_unknown_claim_lists_the_known_ones():
    with pytest.raises(KeyError) as err:
        cl.get("C99")
    assert err.value.args[0] == "unknown claim 'C99' (known: C1, C2, C3, C4, C5, C6, C7, C8, C9, C10)"


def test_docs_row_of_a_claim_with_config_named_columns_and_no_weight(monkeypatch):
    # a claim with a regime component but no regime.weights entry shows weight 0; its
    # config-named columns are written out under the config
    monkeypatch.setitem(REGISTRY, "C12", _extra(RULE, regime=RegimeComponent(("hhi",))))
    last = cl.claims_markdown(CFG12).splitlines()[-1]
    assert last == (
        "| C12 | A made-up claim on the top-k | Herfindahl index (`hhi`) | higher supports | both of "
        f"`top{K}_share` >= `share_min` and `value` < `top{K}_weight`: supported; neither: not supported; "
        "one: mixed | 0 |")
