"""Ex-top-k benchmark variants backtested block by block equal the engine run on the whole
market (to 1e-10), serially and on a real 2-worker Dask cluster, with small task inputs."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from broadening.backtest.costs import NO_COSTS, CostModel
from broadening.backtest.engine import Simulation
from broadening.backtest.prices import PriceData
from broadening.backtest.schedule import rebalance_positions
from broadening.errors import BroadeningError
from broadening.export_blocks import export_blocks
from broadening.market import load_market
from broadening.playbook.strategies import ex_top_k
from broadening.sweep.blockwise import (
    ExTopK,
    block_costs,
    block_paths,
    block_top_caps,
    blockwise_ex_top_k,
)
from broadening.warehouse import Warehouse


def _reference(market, v, schedule, cash_rate, start=None, costs=NO_COSTS):
    """The in-memory rule: the ex_top_k algo stack through the one engine (no costs unless given)."""
    positions = rebalance_positions(market.dates, schedule, start=start)
    stack = ex_top_k("sp500", v.k, v.weighting)
    data = stack.data(market, positions)
    tw = stack.run_on(data)
    sim = Simulation(PriceData.from_market(market, cols=data.cols), positions, costs=costs, cash_rate=cash_rate)
    return sim.run(tw.weights).returns, tw


def _hand_built(make_tables):
    rng = np.random.default_rng(11)
    n = 40
    closes = {s: list(np.round(p * np.cumprod(1 + rng.normal(0.001, 0.03, n)), 4))
              for s, p in zip("ABCDEFGH", [50, 20, 30, 12, 25, 18, 9, 7], strict=True)}
    closes["B"][:3] = [None] * 3          # lists on day 3
    closes["C"][18:] = [None] * (n - 18)  # delisted after day 17, at -30%
    closes["D"][9] = None                 # a gap, carried
    closes["E"][:12] = [None] * 12        # lists on day 12
    members = [{"index_id": "sp500", "security_id": s, "start": "2024-01-01", "end": None} for s in "ABCDE"]
    members += [{"index_id": "sp500", "security_id": "F", "start": "2024-01-10", "end": "2024-02-05"},
                {"index_id": "sp500", "security_id": "G", "start": "2024-01-29", "end": None},
                {"index_id": "smallmid", "security_id": "H", "start": "2024-01-01", "end": None}]
    t = make_tables(closes, shares={"A": 4.0, "B": 3.0, "C": 2.0, "D": 5.0, "E": 2.0, "F": 1.0, "H": 1.0},
                    membership=members, securities={"C": {"delisting_return": -0.3}})
    t["shares"] = t["shares"][t["shares"]["security_id"] != "G"]  # G has no share count: no cap
    return t


@pytest.mark.parametrize("schedule", ["daily", "weekly"])
@pytest.mark.parametrize("size", [1, 3])
def test_equal_to_the_engine_on_a_hand_built_market(make_tables, tmp_path, schedule, size):
    wh = Warehouse(":memory:")
    wh.ingest(_hand_built(make_tables), source="hand-built")
    d = export_blocks(wh, tmp_path / "b", block_size=size).directory
    market = load_market(wh)
    variants = [ExTopK(1, "cap"), ExTopK(1, "equal"), ExTopK(2, "cap"), ExTopK(6, "cap"), ExTopK(6, "equal")]
    got = blockwise_ex_top_k(d, variants, schedule=schedule, cash_rate=0.03)
    notes = set()
    for v in variants:
        ref, tw = _reference(market, v, schedule, 0.03)
        assert got.index.equals(ref.index), v
        np.testing.assert_allclose(got[v.name].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10, err_msg=v.name)
        notes |= set(tw.notes)
        if v.k == 6:  # fewer than 6 members with a cap: all of them are top-6, the book is cash or G
            w = tw.weights.sum(axis=1)
            assert (w == 0).any() and (w > 0).any()
    # the delisting, the cap-less member and the equal-weight fallback were all exercised
    assert "no market caps on a rebalance date: equal weight used instead" in notes
    assert market.securities.loc["C", "delisting_return"] == -0.3 and market.delisted[list(market.ids).index("C")]
    wh.close()


@pytest.mark.parametrize("costs", [CostModel(bps=10.0), CostModel(bps=5.0, spread_bps=20.0, spread_ref_cap=400.0,
                                                                  max_spread_bps=60.0)])
def test_costs_in_a_third_pass_equal_the_engine(make_tables, tmp_path, costs):
    wh = Warehouse(":memory:")
    wh.ingest(_hand_built(make_tables), source="hand-built")
    d = export_blocks(wh, tmp_path / "b", block_size=2).directory
    market = load_market(wh)
    variants = [ExTopK(1, "cap"), ExTopK(2, "equal"), ExTopK(6, "cap")]
    got = blockwise_ex_top_k(d, variants, schedule="weekly", cash_rate=0.03, costs=costs)
    free = blockwise_ex_top_k(d, variants, schedule="weekly", cash_rate=0.03)
    for v in variants:
        ref, _ = _reference(market, v, "weekly", 0.03, costs=costs)
        np.testing.assert_allclose(got[v.name].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-12, err_msg=v.name)
        if v.k < 6:  # (top-6 leaves a book of cash or of one cap-less name: little trading)
            assert (got[v.name] < free[v.name] - 1e-6).sum() >= 3  # costs were paid on several rebalances
    wh.close()


def test_start_and_refusals(make_tables, tmp_path):
    wh = Warehouse(":memory:")
    wh.ingest(_hand_built(make_tables), source="hand-built")
    d = export_blocks(wh, tmp_path / "b", block_size=2).directory
    market = load_market(wh)
    got = blockwise_ex_top_k(d, [ExTopK(2, "equal")], schedule="weekly", start="2024-01-20")
    ref, _ = _reference(market, ExTopK(2, "equal"), "weekly", 0.0, start="2024-01-20")
    assert got.index[0] == pd.Timestamp("2024-01-26")
    np.testing.assert_allclose(got.iloc[:, 0].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10)
    with pytest.raises(BroadeningError, match="no variants"):
        blockwise_ex_top_k(d, [])
    with pytest.raises(BroadeningError, match="weighting 'cap' or 'equal'"):
        blockwise_ex_top_k(d, [ExTopK(2, "inverse")])
    with pytest.raises(BroadeningError, match="schedule"):
        blockwise_ex_top_k(d, [ExTopK(2)], schedule="hourly")
    wh.close()


def test_on_a_local_cluster_equal_with_small_tasks(tiny_synthetic, tmp_path, dask_client, submitted):
    wh = Warehouse(":memory:")
    wh.ingest(tiny_synthetic.tables, source="synthetic", synthetic=True)
    ex = export_blocks(wh, tmp_path / "b", block_size=30)
    market = load_market(wh)
    variants = [ExTopK(5, "cap"), ExTopK(10, "cap"), ExTopK(10, "equal")]
    got = blockwise_ex_top_k(ex.directory, variants, schedule="monthly", cash_rate=0.02, client=dask_client)
    costs = CostModel(bps=10.0, spread_bps=5.0)
    paid = blockwise_ex_top_k(ex.directory, variants, schedule="monthly", costs=costs, client=dask_client)
    calls = list(submitted)
    for v in variants:
        ref, _ = _reference(market, v, "monthly", 0.02)
        np.testing.assert_allclose(got[v.name].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10, err_msg=v.name)
        # with costs (a size-dependent spread too): many names trade near their break point here
        ref, _ = _reference(market, v, "monthly", 0.0, costs=costs)
        np.testing.assert_allclose(paid[v.name].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-10, err_msg=v.name)
    # a pass is one task per block: a path, a block number, rebalance rows and per-date vectors
    assert [c[1] for c in calls] == [block_top_caps] * 5 + [block_paths] * 5 + [block_top_caps] * 5 + \
        [block_paths] * 5 + [block_costs] * 5
    whole = market.close.nbytes
    for _, _func, directory, block, args in calls:
        assert isinstance(directory, str) and isinstance(block, int)
        assert len(pickle.dumps((directory, block, args))) < 20_000 < whole / 10
    # a block's answer: per rebalance and per day vectors, not its panels
    top, _ = block_top_caps(str(ex.directory), 0, "sp500", rebalance_positions(market.dates, "monthly"), 10, None)
    assert top.shape == (len(rebalance_positions(market.dates, "monthly")), 10)
    wh.close()
