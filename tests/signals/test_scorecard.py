"""The thesis scorecard: shape, thresholds, n/a with reasons, and the story the data tells."""

from __future__ import annotations

import json

import numpy as np
import pytest

from broadening.config import load_config
from broadening.market import Market
from broadening.signals import compute_signals, diffusion_score, regime_labels, scorecard
from broadening.signals.scorecard import CLAIMS

VERDICTS = {"supported", "not supported", "mixed", "n/a"}


def test_shape_and_json(tiny_market):
    card = scorecard(tiny_market)
    assert list(card.table["id"]) == [f"C{i}" for i in range(1, 11)]
    assert list(card.table.columns) == ["id", "claim", "metric", "value", "percentile", "trend", "verdict", "reason"]
    assert set(card.table["verdict"]) <= VERDICTS
    d = card.to_dict()
    assert set(d) == {"asof", "regime", "diffusion_score", "synthetic", "claims"} and d["synthetic"] is True
    assert d["asof"] == str(tiny_market.index[-1].date())
    assert d["regime"] == regime_labels(tiny_market).iloc[-1] != "n/a"
    assert d["diffusion_score"] == pytest.approx(diffusion_score(tiny_market).iloc[-1])
    assert [row["id"] for row in d["claims"]] == list(card.table["id"])
    for row, (_, want) in zip(d["claims"], card.table.iterrows(), strict=True):
        assert set(row) == {"id", "claim", "metric", "value", "percentile", "trend", "verdict", "reason"}
        assert row["claim"] == CLAIMS[row["id"]]
        # the JSON row is the table row, with None for a missing number
        assert (row["verdict"], row["reason"], row["trend"], row["metric"]) == (
            want["verdict"], want["reason"], want["trend"], want["metric"])
        if row["verdict"] != "n/a":
            assert row["value"] == want["value"] and row["percentile"] == want["percentile"]
            assert 0 <= row["percentile"] <= 1
        else:
            assert row["value"] is None and row["percentile"] is None
    json.dumps(d)  # plain JSON types only
    assert card.synthetic


def test_asof_is_point_in_time(tiny_market):
    early = scorecard(tiny_market, asof="2022-06-30")
    assert early.asof.date().isoformat() <= "2022-06-30"
    same = scorecard(tiny_market.until("2022-06-30"))
    assert early.to_dict() == same.to_dict()
    with pytest.raises(ValueError):
        scorecard(tiny_market, asof="1990-01-01")


@pytest.mark.parametrize("asof", ["2019-06-28", "2022-06-30", "2025-09-30"])
def test_an_earlier_scorecard_read_off_the_full_market_is_the_as_of_one(tiny_market, asof):
    """Point in time: the full market's signals at an earlier row are what the cut market shows."""
    from broadening.signals.scorecard import scorecard_at

    fast, cut = scorecard_at(tiny_market, None, asof), scorecard(tiny_market, asof=asof)
    assert (fast.asof, fast.regime) == (cut.asof, cut.regime)
    assert fast.diffusion_score == pytest.approx(cut.diffusion_score, rel=1e-12)
    a, b = fast.table, cut.table
    assert a[["id", "verdict", "trend", "reason"]].equals(b[["id", "verdict", "trend", "reason"]])
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-12)
    np.testing.assert_allclose(a["percentile"], b["percentile"], rtol=0, atol=0)
    with pytest.raises(ValueError):
        scorecard_at(tiny_market, None, "1990-01-01")


def test_thresholds_come_from_the_config(tiny_market):
    always = load_config().with_overrides({"scorecard": {"C1": {"supported_percentile": 0.0}}})
    never = load_config().with_overrides({"scorecard": {"C1": {"supported_percentile": 1.0, "not_supported_percentile": 1.0}}})
    row = lambda card: card.table.set_index("id").loc["C1"]  # noqa: E731
    assert row(scorecard(tiny_market, always))["verdict"] == "supported"
    assert row(scorecard(tiny_market, never))["verdict"] == "not supported"


def test_missing_data_is_na_with_a_reason_never_a_number(make_market):
    # prices only: no fundamentals, no credit series, no tags, no BDCs
    rng = np.random.default_rng(3)
    closes = {f"S{i}": list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))) for i in range(6)}
    card = scorecard(make_market(closes))
    t = card.table.set_index("id")
    for cid in ("C2", "C3", "C9"):
        assert t.loc[cid, "verdict"] == "n/a"
        assert t.loc[cid, "reason"] == "no fundamentals in the warehouse"
    assert t.loc["C6", "verdict"] == "n/a" and "BUSLOANS" in t.loc["C6", "reason"]
    assert t.loc["C8", "verdict"] == "n/a" and "ai_layer" in t.loc["C8", "reason"]
    # all names are Industrials: domestic cyclicals exist (sector rules decide when the
    # domestic share is unknown) but there is no mega-cap tech to compare them with
    assert t.loc["C5", "verdict"] == "n/a" and "mega-cap tech" in t.loc["C5", "reason"]
    strict = load_config().with_overrides({"domestic_cyclicals": {"missing_domestic_share": "exclude"}})
    strict_t = scorecard(make_market(closes), strict).table.set_index("id")
    assert strict_t.loc["C5", "verdict"] == "n/a" and "domestic" in strict_t.loc["C5", "reason"]
    na = t[t["verdict"] == "n/a"]
    assert na["value"].isna().all() and na["percentile"].isna().all()
    assert (na["reason"].str.len() > 0).all()
    assert t.loc["C1", "verdict"] != "n/a"  # prices and caps are enough for C1
    d = card.to_dict()
    assert all(c["value"] is None for c in d["claims"] if c["verdict"] == "n/a")


def test_short_history_is_na(make_market):
    card = scorecard(make_market({"A": [10.0, 11.0], "B": [5.0, 5.0]}))
    assert (card.table["verdict"] == "n/a").all()
    assert card.regime == "n/a"
    assert card.to_dict()["diffusion_score"] is None


# -- the story: the signals read the data, not the generator's labels ----------------------
@pytest.fixture(scope="module")
def concentrating_market():
    from broadening.providers.synthetic import generate

    return Market.from_tables(generate(seed=7, preset="tiny", regime="concentrating").tables, synthetic=True)


def _end(market):
    sig = compute_signals(market)
    card = scorecard(market)
    return sig, card


def test_broadening_market_tells_the_broadening_story(tiny_synthetic, tiny_market):
    assert tiny_synthetic.meta.get("regime", "broadening") == "broadening"
    sig, card = _end(tiny_market)
    last = sig.iloc[-1]
    k = load_config().universe.k
    # concentration falling over the last quarter, equal weight beating cap weight
    assert sig[f"C1.top{k}_share"].iloc[-1] < sig[f"C1.top{k}_share"].iloc[-64]
    assert last["C2.ew_cw_63d"] > 0
    assert last["C5.dc_minus_megatech"] > 0
    assert card.table.set_index("id").loc["C1", "trend"].startswith("falling")
    assert card.regime in {"diffusion", "transition"}
    assert card.diffusion_score > 0.5


def test_concentrating_market_does_not(concentrating_market, tiny_market):
    sig, card = _end(concentrating_market)
    last = sig.iloc[-1]
    k = load_config().universe.k
    assert sig[f"C1.top{k}_share"].iloc[-1] > sig[f"C1.top{k}_share"].iloc[-64]
    assert last["C2.ew_cw_63d"] < 0
    assert last["C5.dc_minus_megatech"] < 0
    assert card.table.set_index("id").loc["C1", "trend"].startswith("rising")
    assert card.regime != "diffusion"
    assert card.diffusion_score < 0.5
    assert card.diffusion_score < scorecard(tiny_market).diffusion_score


def test_asof_the_last_date_is_the_latest_scorecard(tiny_market):
    last = str(tiny_market.index[-1].date())
    assert scorecard(tiny_market, asof=last).to_dict() == scorecard(tiny_market).to_dict()
    with pytest.raises(ValueError, match=r"asof 2015-12-31 is before the first date 2016-01-01"):
        scorecard(tiny_market, asof="2015-12-31")
