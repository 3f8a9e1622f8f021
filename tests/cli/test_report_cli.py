"""``broadening demo`` and ``broadening report`` end to end on the tiny preset."""

from __future__ import annotations

import json
from pathlib import Path

from broadening.results import BACKTEST_RESULTS, SWEEP_RESULT, load_backtest
from broadening.warehouse import Warehouse

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"




def test_demo_then_report_then_monitor(run, tmp_path, capsys):
    wh = tmp_path / "d.duckdb"
    code, out, err = run(capsys, "--warehouse", str(wh), "demo", "--preset", "tiny", "--out", str(tmp_path / "out"))
    assert code == 0, err
    report = tmp_path / "out" / "report.html"
    assert report.exists() and report.stat().st_size > 1_000_000
    assert "Thesis scorecard" in out and "SYNTHETIC" in out
    assert f"report: {report.resolve()}" in " ".join(out.split())
    with Warehouse(wh, read_only=True) as w:
        stored = load_backtest(w)
    # the demo printed the backtest it stored, and the scorecard monitor gives on the same data
    row = next(line for line in out.splitlines() if line.strip(" │|").startswith("cagr"))
    assert [c.strip() for c in row.strip(" │|").split("│")][1:] == [f"{v:.1%}" for v in stored.metrics["cagr"]]
    code, mon, _ = run(capsys, "--warehouse", str(wh), "monitor", "--json")
    card = json.loads(mon)
    assert f"regime: {card['regime']}" in " ".join(out.split())

    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--out", str(tmp_path / "r2.html"))
    assert code == 0, err
    first, last = stored.returns.index[0].date(), stored.returns.index[-1].date()
    assert f"using the stored backtest ({first} .. {last})" in err
    page = (tmp_path / "r2.html").read_text()
    # 15 charts, plus the stored Brinson attribution's two (by sleeve, by sector)
    assert page.count("renderChart(\"") == 17 and 'id="chart-brinson-sector"' in page

    # another classification: the stored backtest ran with the default one, so it is not mixed in
    cls = tmp_path / "c1.toml"
    cls.write_text("[regime.weights]\nC1 = 1.0\nC2 = 0.0\nC3 = 0.0\nC4 = 0.0\nC5 = 0.0\nC9 = 0.0\n")
    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--classification", str(cls), "--out", str(tmp_path / "c.html"))
    assert code == 0, err
    assert "using the stored backtest" not in err
    # --config is the old name of --classification here
    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--config", str(cls), "--out", str(tmp_path / "c2.html"))
    assert code == 0, err
    assert "--config is deprecated here; use --classification" in err and "using the stored backtest" not in err

    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--asof", "2024-06-28", "--out", str(tmp_path / "r3.html"))
    assert code == 0, err
    assert "<b>As of</b> 2024-06-28" in (tmp_path / "r3.html").read_text()

    code, out, err = run(capsys, "--warehouse", str(wh), "sweep", "--grid", str(EXAMPLES / "sweep.toml"), "--workers", "0", "--json")
    assert code == 0, err
    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--out", str(tmp_path / "r4.html"))
    assert code == 0, err
    page = (tmp_path / "r4.html").read_text()
    assert 'id="sweep"' in page and page.count('renderChart("') > 17

    code, out, _ = run(capsys, "--warehouse", str(wh), "info", "--json")
    info = json.loads(out)
    assert info["synthetic"] is True
    assert info["results"] == sorted([*BACKTEST_RESULTS, SWEEP_RESULT])


def test_report_errors(run, tmp_path, capsys):
    code, _, err = run(capsys, "--warehouse", str(tmp_path / "none.duckdb"), "report")
    assert code == 2 and "no warehouse here" in err
    code, _, err = run(capsys, "--warehouse", str(tmp_path / "none.duckdb"), "demo", "--preset", "huge",
                       "--out", str(tmp_path / "never"))
    assert code == 2 and "--preset: expected one of tiny, demo, research, us-all, got 'huge'" in err
    assert not (tmp_path / "never").exists() and not (tmp_path / "none.duckdb").exists()
    code, _, err = run(capsys, "--warehouse", str(tmp_path / "none.duckdb"), "demo", "--preset", "us-all",
                       "--out", str(tmp_path / "never"))
    assert code == 2 and "--preset us-all: demo would generate, store and run the whole US market in one process" in " ".join(err.split())
    assert not (tmp_path / "never").exists() and not (tmp_path / "none.duckdb").exists()


def test_bad_dates_are_one_clear_error(run, tmp_path, capsys, tiny_warehouse):
    for argv in (["report", "--asof", "someday"], ["monitor", "--asof", "2024-13-40"], ["backtest", "--start", "soon"]):
        code, _, err = run(capsys, "--warehouse", str(tiny_warehouse), *argv)
        assert code == 2 and "expected a date like 2024-12-31" in err, (argv, err)
