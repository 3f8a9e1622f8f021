"""Sweep runner: same numbers as the reference playbook + engine, the same on Dask as serially,
and nothing lost or duplicated when a worker dies mid-sweep."""

from __future__ import annotations

import os
import signal

import numpy as np
import pandas as pd
import pytest

from broadening.playbook.suite import run_backtests
from broadening.sweep.grid import parse_grid
from broadening.sweep.run import backtest_variant, local_cluster, prepare, run_sweep, run_variants

distributed = pytest.importorskip("distributed")

ARTICLE = {"equal_weight_core": 0.3, "quality_domestic_cyclicals": 0.25, "ai_adopters": 0.2,
           "small_cap_quality": 0.15, "bdcs": 0.1}
GRID = {"grid": {"top_k": [2, 4], "cut": [0.3, 0.6], "schedule": ["monthly", "quarterly"],
                 "regime_scaling": [True, False],
                 "sleeves": {"article": ARTICLE, "core": {"equal_weight_core": 1.0}}}}


@pytest.fixture(scope="module")
def score(tiny_market):
    # a deterministic stand-in for the diffusion score (the signals are tested elsewhere)
    x = np.linspace(0.0, 1.0, len(tiny_market.dates))
    return pd.Series(0.5 + 0.5 * np.sin(12 * x), index=tiny_market.index)


@pytest.fixture(scope="module")
def gdir(tmp_path_factory):
    """A base playbook without the (default) tracking-error budget, which has its own test."""
    d = tmp_path_factory.mktemp("grid")
    (d / "pb.toml").write_text("[constraints]\ntracking_error_budget = 0.0\n")
    return d


def G(doc, gdir):
    return parse_grid({"sweep": {"playbook": "pb.toml"}, **doc}, "g.toml", base_dir=gdir)


@pytest.fixture(scope="module")
def cluster():
    import logging

    from distributed import Client

    cl = local_cluster(2, silence_logs=logging.CRITICAL)
    client = Client(cl)
    yield cl, client
    client.close()
    cl.close()


def _frame(result):
    return result.frame().set_index("id")


# the tracking-error budget (on by default) has its own test below: an interior-point solve
# per binding rebalance is too slow to run on every variant of these grids
@pytest.mark.parametrize("base, wf", [
    ({"constraints": {"tracking_error_budget": 0.0}}, None),
    ({"constraints": {"turnover_budget": 0.04, "max_weight": 0.08, "tracking_error_budget": 0.0},
      "costs": {"spread_bps": 8.0}},
     {"train_years": 3, "test_years": 2}),
])
def test_variants_equal_the_reference_playbook_and_engine(tiny_market, score, tmp_path, base, wf):
    doc = {k: dict(v) for k, v in GRID.items()}
    if base:
        lines = []
        for sec, kv in base.items():
            lines.append(f"[{sec}]")
            lines += [f"{k} = {v}" for k, v in kv.items()]
        (tmp_path / "pb.toml").write_text("\n".join(lines) + "\n")
        doc["sweep"] = {"playbook": "pb.toml"}
    if wf:
        doc["walk_forward"] = wf
    g = parse_grid(doc, "g.toml", base_dir=tmp_path)
    data, g = prepare(tiny_market, g, regime_score=score)
    assert len(g.variants) >= 32
    _every_variant_equals_the_reference(tiny_market, score, data, g)


def _every_variant_equals_the_reference(market, score, data, g, weights_atol=1e-12):
    """Each variant's returns, weights and metrics equal ``run_backtests`` of its config and split.

    ``weights_atol``: an interior-point solve (tracking-error budget) turns rounding-level
    differences in its input (sleeves summed vs one total) into ~1e-12 differences in weights.
    """
    for v in g.variants:
        res = backtest_variant(data, v)
        s = v.split
        suite = run_backtests(market, v.config, regime_score=score, start=s.train_start, end=s.test_end)
        ref = suite.results["playbook"]
        assert ref.returns.index.equals(res.returns.index), v.id
        np.testing.assert_allclose(res.returns.to_numpy(), ref.returns.to_numpy(), rtol=0, atol=1e-12, err_msg=str(v.id))
        # the same holdings (the sweep keeps the union of every schedule's holdable names)
        w = pd.DataFrame(res.weights, columns=res.ids).reindex(columns=ref.ids, fill_value=0.0)
        assert (res.weights[:, ~np.isin(res.ids, ref.ids)] == 0).all()
        np.testing.assert_allclose(w.to_numpy(), ref.weights, rtol=0, atol=weights_atol, err_msg=str(v.id))
        if s.is_full:
            out = run_variants(data, [v])[0]
            for k, x in suite.metrics.loc["playbook"].items():
                assert out["metrics"][k] == pytest.approx(x, rel=1e-9, abs=1e-12, nan_ok=True), (v.id, k)


def test_sector_bounds_equal_the_reference(tiny_market, score, tmp_path):
    sector = tiny_market.securities["sector"].dropna().iloc[0]
    (tmp_path / "pb.toml").write_text(f'[constraints]\nmax_weight = 0.08\ntracking_error_budget = 0.0\n'
                                      f'sector_bounds = {{ "{sector}" = [0.0, 0.2] }}\n')
    g = parse_grid({"sweep": {"playbook": "pb.toml"}, "grid": {"top_k": [3, 6], "schedule": ["monthly", "quarterly"]}},
                   "g.toml", base_dir=tmp_path)
    data, g = prepare(tiny_market, g, regime_score=score)
    _every_variant_equals_the_reference(tiny_market, score, data, g)


def test_tracking_error_budget_runs_in_sweeps_and_equals_the_reference(tiny_market, score, tmp_path):
    (tmp_path / "pb.toml").write_text("[constraints]\nmax_weight = 0.08\ntracking_error_budget = 0.02\n"
                                      "[portfolio]\nschedule = \"annual\"\n")
    g = parse_grid({"sweep": {"playbook": "pb.toml"}, "grid": {"top_k": [3, 8], "regime_scaling": [True, False]}},
                   "g.toml", base_dir=tmp_path)
    data, g = prepare(tiny_market, g, regime_score=score)
    _every_variant_equals_the_reference(tiny_market, score, data, g, weights_atol=1e-9)
    # the budget binds: without it the same variant tracks further from cap weight
    res = run_variants(data, g.variants)
    (tmp_path / "free.toml").write_text("[constraints]\nmax_weight = 0.08\ntracking_error_budget = 0.0\n")
    free = run_sweep(tiny_market, parse_grid({"sweep": {"playbook": "free.toml"},
                                              "grid": {"top_k": [8], "schedule": ["annual"], "regime_scaling": [False]}},
                                             "g.toml", base_dir=tmp_path),
                     regime_score=score, workers=0)
    assert free.variants[0]["metrics"]["tracking_error"] > res[-1]["metrics"]["tracking_error"]


def test_dask_equals_serial_and_scatters_once(tiny_market, score, cluster, gdir):
    cl, client = cluster
    serial = run_sweep(tiny_market, G(GRID, gdir), regime_score=score, workers=0)
    calls = []
    real = client.scatter

    def counting(*a, **kw):
        calls.append(kw.get("broadcast"))
        return real(*a, **kw)

    client.scatter = counting
    try:
        dask = run_sweep(tiny_market, G(GRID, gdir), regime_score=score, client=client)
    finally:
        client.scatter = real
    assert calls == [True]  # the panels went to the workers once, to all of them
    assert [v["id"] for v in dask.variants] == list(range(len(serial.variants)))
    pd.testing.assert_frame_equal(_frame(dask), _frame(serial), check_exact=True)
    assert dask.workers == 2 and serial.workers == 0
    # an existing scheduler by address
    by_addr = run_sweep(tiny_market, G(GRID, gdir), regime_score=score, scheduler=cl.scheduler_address)
    pd.testing.assert_frame_equal(_frame(by_addr), _frame(serial), check_exact=True)


def test_walk_forward_reports_best_in_sample(tiny_market, score, cluster, gdir):
    _, client = cluster
    doc = {**GRID, "walk_forward": {"train_years": 3, "test_years": 2}}
    res = run_sweep(tiny_market, G(doc, gdir), regime_score=score, client=client)
    wf = res.walk_forward("sharpe")
    assert [w["split"] for w in wf] == [s.name for s in res.grid.splits] and len(wf) >= 2
    for w in wf:
        same = [v for v in res.variants if v["split"]["split"] == w["split"]]
        assert w["in_sample"]["sharpe"] == max(v["in_sample"]["sharpe"] for v in same)
        assert set(w["out_of_sample"]) >= {"sharpe", "information_ratio"}
    v = res.variants[0]
    assert v["start"] >= v["split"]["train_start"] and v["end"] <= v["split"]["test_end"]


def test_killed_worker_loses_and_duplicates_nothing(tiny_market, score, cluster, gdir):
    cl, client = cluster
    doc = {"grid": {**GRID["grid"], "top_k": [1, 2, 3, 4, 5], "cut": [0.2, 0.3, 0.4, 0.5]}}
    g = G(doc, gdir)
    data, g = prepare(tiny_market, g, regime_score=score)
    serial = run_variants(data, g.variants)
    pids = client.run(os.getpid)
    killed = {}

    def kill_one(done: int) -> None:
        if not killed and done >= 3:
            addr, pid = sorted(pids.items())[0]
            os.kill(pid, signal.SIGKILL)
            killed["at"] = done

    got = run_variants(data, g.variants, client=client, chunk=1, on_result=kill_one)
    assert killed and killed["at"] < len(g.variants)  # the kill happened mid-sweep
    assert [r["id"] for r in got] == [v.id for v in g.variants]  # each id exactly once, in order
    assert got == serial
    client.wait_for_workers(2, timeout=60)
    assert set(client.run(os.getpid).values()) != set(pids.values())  # the nanny replaced the dead worker


def test_best_respects_the_direction_of_the_metric(tiny_market, gdir):
    res = run_sweep(tiny_market, G(GRID, gdir), workers=0)
    te = [v["metrics"]["tracking_error"] for v in res.variants]
    sh = [v["metrics"]["sharpe"] for v in res.variants]
    assert res.best("tracking_error")["metrics"]["tracking_error"] == min(te)
    assert res.best("sharpe")["metrics"]["sharpe"] == max(sh)


# -- issue #17 ------------------------------------------------------------------------------------
def test_serial_runs_report_each_result_as_it_lands(tiny_market, gdir):
    data, grid = prepare(tiny_market, G({"grid": {"top_k": [2, 4], "regime_scaling": [False]}}, gdir))
    done, steps = [], []
    out = run_variants(data, grid.variants, on_result=done.append, progress=lambda s, d, t: steps.append((s, d, t)))
    assert [r["id"] for r in out] == [0, 1] and done == [1, 2]
    assert steps == [("variants", 1, 2), ("variants", 2, 2)]


def test_no_finite_metric_means_no_best_and_no_walk_forward_pick(tiny_market, gdir):
    from broadening.errors import BroadeningError
    from broadening.sweep.run import SweepResult

    _, grid = prepare(tiny_market, G({"grid": {"top_k": [2, 4], "regime_scaling": [False]},
                                      "walk_forward": {"train_years": 3, "test_years": 2}}, gdir))
    nan = {k: float("nan") for k in ("sharpe", "tracking_error")}
    variants = [{"id": v.id, "params": {}, "split": v.split.as_dict(), "metrics": dict(nan), "in_sample": dict(nan)}
                for v in grid.variants]
    res = SweepResult(variants=variants, grid=grid)
    # e.g. every test window too short for a Sharpe ratio: nothing is called best
    assert res.best("sharpe") is None and res.walk_forward("sharpe") == []
    assert res.to_json("sharpe")["best"] is None and res.meta("sharpe")["best"] is None
    with pytest.raises(BroadeningError, match=r"^--metric: expected one of cagr, .*, got 'alpha'$"):
        res.best("alpha")
    with pytest.raises(BroadeningError, match="got 'alpha'"):
        res.walk_forward("alpha")


def test_a_scheduler_that_does_not_answer_is_one_clear_error():
    # nothing listens on the discard port: distributed retries for its 10 s connect timeout
    from broadening.errors import BroadeningError
    from broadening.sweep.run import dask_client

    with pytest.raises(BroadeningError, match=r"^--scheduler tcp://127.0.0.1:9: cannot connect \(Timed out"):
        with dask_client("tcp://127.0.0.1:9"):
            pass
