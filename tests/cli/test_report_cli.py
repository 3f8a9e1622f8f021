"""``broadening demo`` and ``broadening report`` end to end on the tiny preset."""

from __future__ import annotations

import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"




def test_demo_then_report_then_monitor(run, tmp_path, capsys):
    wh = tmp_path / "d.duckdb"
    code, out, err = run(capsys, "--warehouse", str(wh), "demo", "--preset", "tiny", "--out", str(tmp_path / "out"))
    assert code == 0, err
    report = tmp_path / "out" / "report.html"
    assert report.exists() and report.stat().st_size > 1_000_000
    assert "report:" in out and "Thesis scorecard" in out and "playbook" in out
    assert "SYNTHETIC" in out

    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--out", str(tmp_path / "r2.html"))
    assert code == 0, err
    assert "using the stored backtest" in err
    assert (tmp_path / "r2.html").read_text().count("renderChart(\"") == 15

    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--asof", "2024-06-28", "--out", str(tmp_path / "r3.html"))
    assert code == 0, err
    assert "<b>As of</b> 2024-06-28" in (tmp_path / "r3.html").read_text()

    code, out, err = run(capsys, "--warehouse", str(wh), "sweep", "--grid", str(EXAMPLES / "sweep.toml"), "--workers", "0", "--json")
    assert code == 0, err
    code, out, err = run(capsys, "--warehouse", str(wh), "report", "--out", str(tmp_path / "r4.html"))
    assert code == 0, err
    page = (tmp_path / "r4.html").read_text()
    assert 'id="sweep"' in page and page.count('renderChart("') > 15

    code, out, _ = run(capsys, "--warehouse", str(wh), "info", "--json")
    info = json.loads(out)
    assert info["synthetic"] is True and "backtest_returns" in info["results"]


def test_report_errors(run, tmp_path, capsys):
    code, _, err = run(capsys, "--warehouse", str(tmp_path / "none.duckdb"), "report")
    assert code == 2 and "no warehouse here" in err
    code, _, err = run(capsys, "--warehouse", str(tmp_path / "none.duckdb"), "demo", "--preset", "huge")
    assert code == 2 and "--preset" in err


def test_bad_dates_are_one_clear_error(run, tmp_path, capsys, tiny_warehouse):
    for argv in (["report", "--asof", "someday"], ["monitor", "--asof", "2024-13-40"], ["backtest", "--start", "soon"]):
        code, _, err = run(capsys, "--warehouse", str(tiny_warehouse), *argv)
        assert code == 2 and "expected a date like 2024-12-31" in err, (argv, err)
