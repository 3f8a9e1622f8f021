"""``broadening evaluate``: the JSON is the library's evaluation; the table is plain; bad horizons exit 2."""

from __future__ import annotations

import json

import pytest

from broadening.signals.evaluate import evaluate


def test_json_is_the_library_evaluation(run, capsys, tiny_warehouse, tiny_market):
    code, out, err = run(capsys, "--warehouse", str(tiny_warehouse), "evaluate", "--horizons", "63,126", "--json")
    assert code == 0, err
    d = json.loads(out)
    want = json.loads(json.dumps(evaluate(tiny_market, horizons=(63, 126)).to_dict()))
    assert d == want
    assert list(d["signals"])[-1] == "regime" and set(d["signals"]["regime"]) == {"63", "126"}


def test_table_names_every_signal_and_the_small_sample_caveat(run, capsys, tiny_warehouse, tiny_market):
    code, out, err = run(capsys, "--warehouse", str(tiny_warehouse), "evaluate", "--horizons", "252")
    assert code == 0, err
    flat = " ".join(out.replace("│", " ").split())  # cells without the box lines
    assert "Does the thesis pay? 252-day forward equal minus cap weight" in flat
    ev = evaluate(tiny_market, horizons=(252,))
    for r in ev.table.itertuples(index=False):
        assert f"{r.signal} {r.ic:+.2f} {r.t_stat:+.1f} {r.n_independent:.0f} " in flat, r.signal
    assert "cannot tell skill from luck" in flat and "SYNTHETIC" in flat


@pytest.mark.parametrize("bad", ["", "63,x", "0,63", "-5"])
def test_bad_horizons_exit_2(run, capsys, tiny_warehouse, bad):
    code, _, err = run(capsys, "--warehouse", str(tiny_warehouse), "evaluate", "--horizons", bad)
    assert code == 2
    assert "--horizons" in err


def test_a_stored_backtest_adds_the_playbook_target(run, capsys, tiny_warehouse, tiny_market, tmp_path):
    import shutil

    from broadening.results import load_backtest
    from broadening.warehouse import Warehouse

    wh = tmp_path / "w.duckdb"
    shutil.copy(tiny_warehouse, wh)
    code, _, err = run(capsys, "--warehouse", str(wh), "backtest")
    assert code == 0, err
    with Warehouse(wh, read_only=True) as w:
        stored = load_backtest(w)
    code, out, err = run(capsys, "--warehouse", str(wh), "evaluate", "--horizons", "63", "--json")
    assert code == 0, err
    d = json.loads(out)
    want = json.loads(json.dumps(evaluate(tiny_market, horizons=(63,), strategy_returns=stored.returns).to_dict()))
    assert d == want
    assert d["signals"]["C1"]["63"]["playbook_n"] > 1000
    code, out, _ = run(capsys, "--warehouse", str(wh), "evaluate", "--horizons", "63")
    c1 = d["signals"]["C1"]["63"]
    assert f"{c1['playbook_ic']:+.2f} ({c1['playbook_t_stat']:+.1f})" in out  # the extra column, C1's cell


def test_real_data_shows_no_synthetic_banner(run, capsys, real_warehouse):
    code, out, err = run(capsys, "--warehouse", str(real_warehouse), "evaluate", "--horizons", "252")
    assert code == 0, err
    assert "Does the thesis pay? 252-day forward" in " ".join(out.split()) and "SYNTHETIC" not in out
