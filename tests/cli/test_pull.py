"""``broadening pull`` end to end against a loopback server and recorded Yahoo frames."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "providers"))

from localserver import LocalServer, Reply, payload  # noqa: E402

MEMBERS = "ticker,start,end\nACME,2015-01-02,\nNVDA,2001-11-30,\nOLDCO,2001-01-02,2024-03-18\n"


@pytest.fixture
def live(tmp_path, monkeypatch):
    server = LocalServer()
    server.routes["/files/company_tickers.json"] = Reply(200, payload("sec_company_tickers.json"))
    server.routes["/api/xbrl/companyfacts/CIK0001234567.json"] = Reply(200, payload("sec_companyfacts_CIK0001234567.json"))
    server.routes["/graph/fredgraph.csv"] = lambda q: (
        Reply(200, payload(f"fred_{q['id'][0]}.csv")) if q["id"][0] in ("BUSLOANS", "BAMLH0A0HYM2") else Reply(404)
    )
    server.routes["/F-F_Research_Data_Factors_daily_CSV.zip"] = Reply(200, payload("F-F_Research_Data_Factors_daily_CSV.zip"))
    for var in ("BROADENING_SEC_BASE_URL", "BROADENING_FRED_BASE_URL", "BROADENING_FRENCH_BASE_URL"):
        monkeypatch.setenv(var, server.url)
    monkeypatch.delenv("FRED_API_KEY", raising=False)
    monkeypatch.setenv("BROADENING_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BROADENING_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("BROADENING_YAHOO_FETCHER", "localserver:recorded_yahoo")
    monkeypatch.setenv("BROADENING_WAREHOUSE", str(tmp_path / "real.duckdb"))
    (tmp_path / "members.csv").write_text(MEMBERS)
    yield server, tmp_path
    server.close()




ARGS = ("pull", "--start", "2023-01-01", "--fred-series", "BUSLOANS,BAMLH0A0HYM2", "--french", "FF_DAILY", "--no-bdcs")


def test_pull_then_info_shows_provenance(run, live, capsys):
    server, tmp = live
    code, out, err = run(capsys, *ARGS, "--membership-file", str(tmp / "members.csv"))
    assert code == 0, err
    assert "yahoo" in out and "sec" in out and "fred" in out and "french" in out
    assert "OLDCO" in out and "no prices" in out  # the failed ticker is listed
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0
    info = json.loads(out)
    prov = {t: sorted(x["source"] for x in d["sources"]) for t, d in info["tables"].items()}
    assert prov["prices"] == ["yahoo"] and prov["fundamentals"] == ["sec"] and prov["series"] == ["fred", "french"]
    assert prov["membership"][0].startswith("file:")
    assert all(x["ingested_at"] for d in info["tables"].values() for x in d["sources"])
    assert info["synthetic"] is False

    # a second identical pull makes no HTTP request
    n = server.count()
    code, out, _ = run(capsys, *ARGS, "--membership-file", str(tmp / "members.csv"), "--json")
    assert code == 0 and server.count() == n
    summary = json.loads(out)
    assert summary["sources"]["sec"]["requests"] == 0 and summary["sources"]["sec"]["cache_hits"] == 2
    assert summary["sources"]["fred"]["cache_hits"] == 2


def test_nothing_pulled_exits_1(run, live, capsys):
    code, out, err = run(capsys, "pull", "--universe", "tickers", "--tickers", "ZZZZ", "--sources", "yahoo")
    assert code == 1
    assert "ZZZZ" in out and "nothing could be pulled" in err


def test_configuration_errors_exit_2(run, live, capsys, monkeypatch):
    monkeypatch.delenv("BROADENING_SEC_BASE_URL")
    monkeypatch.delenv("BROADENING_SEC_USER_AGENT", raising=False)
    code, _, err = run(capsys, "pull", "--universe", "tickers", "--tickers", "NVDA", "--sources", "sec")
    assert code == 2 and "BROADENING_SEC_USER_AGENT" in err
    code, _, err = run(capsys, "pull", "--sources", "bloomberg")
    assert code == 2 and "unknown source" in err
    code, _, err = run(capsys, "pull", "--membership-file", "/nonexistent.csv", "--sources", "fred")
    assert code == 2 and "not found" in err


def test_interrupt_keeps_stored_batches_and_says_how_to_resume(run, live, capsys, monkeypatch):
    import localserver

    calls = []

    def dies_on_nvda(t, start=None, end=None):
        calls.append(t)
        if t == "NVDA":
            raise KeyboardInterrupt
        return localserver.recorded_yahoo(t, start, end)

    monkeypatch.setattr(localserver, "dies_on_nvda", dies_on_nvda, raising=False)
    monkeypatch.setenv("BROADENING_YAHOO_FETCHER", "localserver:dies_on_nvda")
    server, tmp = live
    args = ("pull", "--start", "2023-01-01", "--sources", "yahoo", "--batch-size", "1", "--no-bdcs",
            "--membership-file", str(tmp / "members.csv"))
    code, _, err = run(capsys, *args)
    assert code == 130 and "run the same command again to resume" in err
    monkeypatch.setenv("BROADENING_YAHOO_FETCHER", "localserver:recorded_yahoo")
    code, out, _ = run(capsys, *args, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["resumed"] and summary["sources"]["yahoo"]["resumed"] == 1  # ACME kept
    assert summary["sources"]["yahoo"]["ok"] == 1  # NVDA pulled now; OLDCO fails again


def test_progress_lines_and_gaps_in_a_pipe(run, live, capsys):
    """Without a terminal (a pipe, a log file) the pull still prints where it is, and the
    summary counts every gap per source and states the universe's survivorship bias."""
    server, tmp = live
    code, out, err = run(capsys, *ARGS, "--membership-file", str(tmp / "members.csv"))
    assert code == 0
    assert "pull 1/" in err and "pull " in err.split("pull 1/")[1]  # first step, then more lines
    # ACME is the only ticker the recorded SEC map knows: the others are counted, not hidden
    assert "gaps (sec): no cik 2" in " ".join(out.split())
    assert "survivorship:" in out
    code, out, _ = run(capsys, "info")
    assert code == 0 and "gaps (sec): no cik 2" in " ".join(out.split()) and "survivorship" in out
    # and the report's data notes say it too
    code, _, err = run(capsys, "report", "--out", str(tmp / "report.html"))
    assert code == 0, err
    assert "gaps (sec): no cik 2" in (tmp / "report.html").read_text()


# -- issue #17 ------------------------------------------------------------------------------------
def test_bad_sources_and_fetcher_exit_2(run, live, capsys, monkeypatch):
    code, _, err = run(capsys, "pull", "--sources", " , ")
    assert code == 2 and err == "error: --sources: give at least one of yahoo, sec, fred, french"
    monkeypatch.setenv("BROADENING_YAHOO_FETCHER", "no_such_module:fetch")
    code, _, err = run(capsys, "pull", "--universe", "tickers", "--tickers", "NVDA", "--sources", "yahoo")
    assert code == 2
    assert err == ("error: $BROADENING_YAHOO_FETCHER='no_such_module:fetch': expected 'module:function' "
                   "(No module named 'no_such_module')")


def test_without_a_fetcher_setting_the_other_sources_still_pull(run, live, capsys, monkeypatch):
    monkeypatch.delenv("BROADENING_YAHOO_FETCHER")
    code, out, err = run(capsys, "pull", "--universe", "tickers", "--tickers", "ACME", "--sources", "fred",
                         "--fred-series", "BUSLOANS", "--json")
    assert code == 0, err
    fred = json.loads(out)["sources"]["fred"]
    assert fred["ok"] == 1 and fred["failed"] == {} and fred["rows"] == {"series": 6}


def test_more_than_twenty_failures_are_counted_not_all_listed(run, live, capsys):
    tickers = [f"ZZ{i:02d}" for i in range(23)]  # unknown to Yahoo: an empty history each
    code, out, err = run(capsys, "pull", "--universe", "tickers", "--tickers", ",".join(tickers), "--sources", "yahoo")
    assert code == 1 and "nothing could be pulled" in err
    flat = " ".join(out.split())
    assert "yahoo: 23 failed" in flat and "ZZ19" in flat and "ZZ20" not in flat
    assert "... and 3 more (--json lists all)" in flat


def test_a_resumed_pull_says_so_in_its_table(run, live, capsys, monkeypatch):
    import localserver

    def dies_on_nvda(t, start=None, end=None):
        if t == "NVDA":
            raise KeyboardInterrupt
        return localserver.recorded_yahoo(t, start, end)

    monkeypatch.setattr(localserver, "dies_on_nvda", dies_on_nvda, raising=False)
    monkeypatch.setenv("BROADENING_YAHOO_FETCHER", "localserver:dies_on_nvda")
    _, tmp = live
    args = ("pull", "--start", "2023-01-01", "--sources", "yahoo", "--batch-size", "1", "--no-bdcs",
            "--membership-file", str(tmp / "members.csv"))
    assert run(capsys, *args)[0] == 130
    monkeypatch.setenv("BROADENING_YAHOO_FETCHER", "localserver:recorded_yahoo")
    code, out, _ = run(capsys, *args)
    assert code == 0 and out.splitlines()[0].strip() == "pull: sp500, 3 tickers from 2023-01-01 (resumed)"
