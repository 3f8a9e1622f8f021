"""The block-wise index signals equal the in-memory ones (to 1e-10), on a hand-built market
and on the tiny synthetic one on a real 2-worker Dask cluster, without any task receiving
or returning a panel."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from broadening.baskets import basket_returns, index_members
from broadening.config import load_config
from broadening.errors import ConfigError
from broadening.export_blocks import BlockError, export_blocks, read_blocks
from broadening.market import load_market
from broadening.signals.blockwise import SUMS, block_beats, block_partials, blockwise_signals
from broadening.signals.breadth import breadth
from broadening.signals.concentration import concentration, index_returns
from broadening.warehouse import Warehouse

CFG = load_config().with_overrides({"universe": {"k": 2, "k_report": [1, 2, 3]},
                                    "signals": {"moving_average": 4, "breadth_window": 5}})


def _hand_built(make_tables):
    """Eight securities over 30 days: staggered listings, a delisting, a gap, members joining
    and leaving the index, one never in it, caps of very different sizes."""
    rng = np.random.default_rng(3)
    n = 30
    walk = {s: list(np.round(p * np.cumprod(1 + rng.normal(0, 0.03, n)), 4))
            for s, p in zip("ABCDEFGH", [10, 25, 40, 5, 60, 15, 33, 8], strict=True)}
    closes = {s: list(v) for s, v in walk.items()}
    closes["B"][:5] = [None] * 5        # lists on day 5
    closes["C"][18:] = [None] * 12      # delisted after day 17
    closes["D"][9] = None               # a gap: carried forward
    closes["E"][:12] = [None] * 12      # a late listing
    members = [{"index_id": "sp500", "security_id": s, "start": "2024-01-01", "end": None} for s in "ABCDE"]
    members += [{"index_id": "sp500", "security_id": "F", "start": "2024-01-10", "end": "2024-01-24"},
                {"index_id": "sp500", "security_id": "G", "start": "2024-01-01", "end": "2024-01-08"},
                {"index_id": "smallmid", "security_id": "H", "start": "2024-01-01", "end": None}]
    shares = {"A": 5.0, "B": 2.0, "C": 1.0, "D": 30.0, "E": 4.0, "F": 1.0, "G": 2.5, "H": 1.0}
    return make_tables(closes, shares=shares, membership=members)


def _in_memory(market, cfg):
    """The in-memory signals, columns named as blockwise_signals names them."""
    out = concentration(market, cfg)
    out["index_return"] = index_returns(market, cfg)
    out["equal_weight_return"] = basket_returns(market, index_members(market, cfg), "equal")
    b = breadth(market, cfg)
    for c in ("above_ma_share", "advancers", "decliners", "beat_share"):
        out[c] = b[c]
    out["members"] = index_members(market, cfg).sum(axis=1)
    return out


def _assert_same(got, ref):
    assert list(got.index) == list(ref.index)
    assert set(ref.columns) <= set(got.columns)
    for c in ref.columns:
        a, b = got[c].to_numpy(float), ref[c].to_numpy(float)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=c)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10, err_msg=c)


@pytest.fixture
def hand_wh(make_tables, tmp_path):
    wh = Warehouse(":memory:")
    wh.ingest(_hand_built(make_tables), source="hand-built")
    yield wh, tmp_path
    wh.close()


@pytest.mark.parametrize("size", [1, 3, 50])
@pytest.mark.parametrize("asof", [None, "2024-01-25"])
def test_equal_to_the_in_memory_signals_on_a_hand_built_market(hand_wh, size, asof):
    wh, tmp = hand_wh
    d = export_blocks(wh, tmp / f"b{size}", block_size=size).directory
    ref = _in_memory(load_market(wh, asof=asof), CFG)
    got = blockwise_signals(d, CFG, asof=asof, beat_share=True)
    _assert_same(got, ref)
    assert ref["beat_share"].notna().sum() > 10 and (ref["beat_share"] > 0).any()
    # the hand-built market exercises what it should: empty days, a top-3 over 2 blocks
    assert ref["top3_share"].notna().all() and (ref["top3_share"] < 1).any()
    assert ref["above_ma_share"].isna().sum() == 3 and ref["index_return"].isna().sum() == 1


def test_a_large_index_the_export_does_not_hold_is_refused(hand_wh):
    wh, tmp = hand_wh
    d = export_blocks(wh, tmp / "cfg", block_size=4).directory
    with pytest.raises(ConfigError, match="universe.large_index"):
        blockwise_signals(d, CFG.with_overrides({"universe": {"large_index": "sp400"}}))


@pytest.fixture(scope="module")
def tiny_blocks(tiny_synthetic, tmp_path_factory):
    wh = Warehouse(":memory:")
    wh.ingest(tiny_synthetic.tables, source="synthetic", synthetic=True)
    ex = export_blocks(wh, tmp_path_factory.mktemp("tiny") / "blocks", block_size=30)
    yield wh, ex
    wh.close()


def test_on_a_local_cluster_equal_and_no_task_ships_a_panel(tiny_blocks, dask_client, submitted):
    wh, ex = tiny_blocks
    market = load_market(wh)
    cfg = load_config()
    got = blockwise_signals(ex.directory, cfg, client=dask_client, beat_share=True)
    calls = list(submitted)
    _assert_same(got, _in_memory(market, cfg))
    assert len(calls) == 2 * len(ex.blocks) == 10  # one task per block and pass
    whole = market.close.nbytes  # one of the whole market's float panels
    for _, func, directory, block, args in calls:
        assert func in (block_partials, block_beats) and isinstance(directory, str) and isinstance(block, int)
        shipped = len(pickle.dumps((directory, block, args)))
        # a path, a block number, a config (and the index's (T,) window return): no panel
        assert shipped < 20_000 + 8 * market.shape[0] < whole / 10
    # what a task returns is per-day sums (T x (sums + kmax)), far less than its block's panels
    kmax = max(max(cfg.universe.k_report), cfg.universe.k)
    for b in ex.blocks:
        p = block_partials(str(ex.directory), b.number, cfg)
        T_b, B = p.sums.shape[0], len(b.ids)
        assert p.sums.shape == (T_b, len(SUMS)) and p.top.shape == (T_b, kmax)
        assert len(pickle.dumps(p)) < p.nbytes + 4096
        assert p.nbytes < 6 * T_b * B * 8  # less than the block's own six (T_b, B) panels


def test_a_failing_block_names_the_block_and_its_file_on_the_cluster(tiny_blocks, dask_client, tmp_path):
    _, ex = tiny_blocks
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(ex.directory, d)
    bad = read_blocks(d).files("shares", 3)[0]
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(BlockError) as err:
        blockwise_signals(d, load_config(), client=dask_client)
    assert str(bad) in str(err.value) and "block 3, table shares" in str(err.value)
