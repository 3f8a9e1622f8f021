"""Values: every numeric input has a plausible range; outside it is one clear error naming where."""

from __future__ import annotations

import pytest

from broadening.config import load_config
from broadening.errors import ConfigError
from broadening.playbook.config import load_playbook_config
from broadening.warehouse import Warehouse

from .conftest import snapshot, write_dir

PRICES_HEAD = "security_id,date,close,adj_close,volume\n"


@pytest.mark.parametrize("row, column, why", [
    ("B,2024-01-04,1e308,22,50", "close", "from 1e-06 to 1e+09"),   # every strategy showed -100% CAGR
    ("B,2024-01-04,1e-320,22,50", "close", "from 1e-06 to 1e+09"),  # crashed the backtest
    ("B,2024-01-04,0,22,50", "close", "a positive number"),
    ("B,2024-01-04,nan,22,50", "close", "a number"),
    ("B,2024-01-04,inf,22,50", "close", "a finite number"),
    ("B,2024-01-04,-inf,22,50", "close", "a finite number"),
    ("B,2024-01-04,1e400,22,50", "close", "a finite number"),
    ("B,2024-01-04,22,1e16,50", "total_return_index", "from 1e-09 to 1e+15"),
    ("B,2024-01-04,22,22,-5", "volume", "a number >= 0"),
    ("B,2024-01-04,22,22,1e15", "volume", "from 0 to 1e+14"),
    ("B,2024-01-04,twelve,22,50", "close", "a number"),
])
def test_values_out_of_range_price_is_one_error(cli, loaded, tmp_path, row, column, why):
    src = write_dir(tmp_path / "in", {"prices.csv": PRICES_HEAD + "A,2024-01-04,12,12,100\n" + row + "\n"})
    before = snapshot(loaded)
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv", "row 3", f"column '{column}'", why)
    assert snapshot(loaded) == before


@pytest.mark.parametrize("name, text, column", [
    ("shares.csv", "security_id,date,shares_outstanding\nA,2024-01-02,1e20\n", "shares_outstanding"),
    ("fundamentals.csv", "security_id,period_end,available_date,revenue\nA,2023-12-31,2024-01-20,1e300\n", "revenue"),
    ("fundamentals.csv", "security_id,period_end,available_date,eps\nA,2023-12-31,2024-01-20,-1e9\n", "eps"),
    ("series.csv", "series_id,date,value\nHY,2024-01-03,1e200\n", "value"),
    ("securities.csv", "security_id,ticker,delisting_return\nD,DDD,1e6\n", "delisting_return"),
])
def test_values_other_tables_have_ranges_too(cli, loaded, tmp_path, name, text, column):
    src = write_dir(tmp_path / "in", {name: text})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error(name, "row 2", f"column '{column}'", "plausible")


@pytest.mark.parametrize("toml, key", [
    ("[quality]\nmin_roe = nan\n", "quality.min_roe"),
    ("[quality]\nmin_roe = inf\n", "quality.min_roe"),
    ("[quality]\nmin_roe = 1e9\n", "quality.min_roe"),
    ("[scorecard.C9]\nyears = 1e308\n", "scorecard.C9.years"),
    ("[scorecard.C1]\nsnap_min = nan\n", "scorecard.C1.snap_min"),
    ("[scorecard.C1]\nsnap_min = 1e300\n", "scorecard.C1.snap_min"),
    ("[history]\nwindow = 100000000\n", "history.window"),
    ("[signals]\nsnap_windows = [21, 1000000]\n", "signals.snap_windows"),
    ("[regime.weights]\nC1 = nan\n", "regime.weights.C1"),
    ("[universe]\nk = 1000000\n", "universe.k"),
])
def test_values_classification_nan_and_huge_are_refused(tmp_path, toml, key):
    p = tmp_path / "c.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(p)


@pytest.mark.parametrize("toml, key", [
    ("[costs]\nbps = 20000\n", "costs.bps"),             # crashed the backtest
    ("[costs]\nbps = nan\n", "costs.bps"),
    ("[costs]\nspread_bps = 1e308\n", "costs.spread_bps"),
    ("[metrics]\nrisk_free = 1e300\n", "metrics.risk_free"),  # was accepted
    ("[costs]\ncash_rate = 5.0\n", "costs.cash_rate"),
    ("[trim]\ntop_k = 100000000\n", "trim.top_k"),
    ("[momentum]\nlookback = 1000000\n", "momentum.lookback"),
])
def test_values_playbook_out_of_range_is_refused(tmp_path, toml, key):
    p = tmp_path / "p.toml"
    p.write_text(toml)
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_playbook_config(p)


def test_values_cli_config_error_is_one_line(cli, loaded, tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[quality]\nmin_roe = nan\n")
    cli("--warehouse", loaded, "monitor", "--config", p).assert_clear_error("c.toml", "quality.min_roe", "finite")
    p.write_text("[costs]\nbps = 20000\n")
    cli("--warehouse", loaded, "backtest", "--playbook", p).assert_clear_error("c.toml", "costs.bps", "from 0 to 1000")


def test_values_good_data_still_goes_in(cli, loaded, tmp_path):
    # the edges of each range are accepted
    src = write_dir(tmp_path / "in", {"prices.csv": PRICES_HEAD + "A,2024-01-04,1e-06,1e-09,0\nB,2024-01-04,1e9,1e15,1e14\n"})
    cli("--warehouse", loaded, "ingest", "csv", src).assert_ok()
    with Warehouse(loaded, read_only=True) as wh:
        got = wh.table("prices", "date = '2024-01-04'").set_index("security_id")
    assert got.loc["A", "close"] == 1e-06 and got.loc["B", "total_return_index"] == 1e15 and got.loc["B", "volume"] == 1e14
