"""``broadening monitor``: JSON shape, rich table with the SYNTHETIC banner, --asof, --config, errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from broadening.cli import app, main
from broadening.signals import scorecard
from broadening.warehouse import Warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, tiny_synthetic):
    path = tmp_path_factory.mktemp("wh") / "tiny.duckdb"
    with Warehouse(path) as wh:
        wh.ingest(tiny_synthetic.tables, source="synthetic", synthetic=True, replace=True, meta=tiny_synthetic.meta)
    return str(path)


def _run(args, warehouse):
    result = CliRunner().invoke(app, ["--warehouse", warehouse, *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_json_is_the_scorecard(warehouse, tiny_market):
    d = json.loads(_run(["monitor", "--json"], warehouse))
    assert d["asof"] == str(tiny_market.index[-1].date())
    assert [c["id"] for c in d["claims"]] == [f"C{i}" for i in range(1, 11)]
    # every field equals the library's scorecard of the same data (through the same JSON rounding)
    want = json.loads(json.dumps(scorecard(tiny_market).to_dict()))
    assert d == want


def test_asof(warehouse, tiny_market):
    d = json.loads(_run(["monitor", "--json", "--asof", "2021-03-15"], warehouse))
    assert d["asof"] == "2021-03-15"  # a Monday, a trading day of the tiny market
    assert d == json.loads(json.dumps(scorecard(tiny_market, asof="2021-03-15").to_dict()))


def test_table_has_banner_verdicts_and_regime(warehouse, tiny_market):
    out = _run(["monitor"], warehouse)
    card = scorecard(tiny_market)
    assert "SYNTHETIC" in out
    assert f"Thesis scorecard as of {card.asof.date()}" in out
    assert f"regime: {card.regime}   diffusion score {card.diffusion_score:.3g}" in out
    for r in card.table.itertuples(index=False):
        assert f"{r.id:>4} {r.verdict}: " in out, r.id  # each claim's verdict line, the verdict of the library


def test_bad_config_exits_2_naming_file_and_key(warehouse, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[universe]\nkay = 3\n")
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", warehouse, "monitor", "--classification", str(cfg)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "universe.kay" in err


def test_missing_warehouse_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", str(tmp_path / "none.duckdb"), "monitor"])
    assert exc.value.code == 2
    assert "no warehouse" in capsys.readouterr().err


def test_since_lists_what_changed_in_json(warehouse, tiny_market):
    from broadening.signals.changes import what_changed
    from broadening.signals.scorecard import scorecard_at

    d = json.loads(_run(["monitor", "--json", "--since", "2025-06-30"], warehouse))
    want = what_changed(scorecard_at(tiny_market, None, "2025-06-30"), scorecard(tiny_market))
    assert d["since"] == "2025-06-30"
    assert d["changes"] == json.loads(json.dumps(want.claims))
    assert d["regime_change"] == want.regime_change
    assert [c["id"] for c in d["claims"]] == [f"C{i}" for i in range(1, 11)]  # the scorecard is still there
    # the changes are the difference of the two scorecards monitor prints on its own
    then = json.loads(_run(["monitor", "--json", "--asof", "2025-06-30"], warehouse))
    now = {c["id"]: c["verdict"] for c in d["claims"]}
    was = {c["id"]: c["verdict"] for c in then["claims"]}
    assert [c["claim"] for c in d["changes"] if c["verdict_changed"]] == [k for k in now if now[k] != was[k]]
    assert (d["regime_change"] is None) == (then["regime"] == d["regime"])


def test_since_table_and_fail_on_change_exit_codes(warehouse, tiny_market, capsys):
    from broadening.signals.changes import what_changed

    card = scorecard(tiny_market)
    # find an earlier date whose scorecard differs, and check the table names each change
    since = "2024-06-28"
    ch = what_changed(scorecard(tiny_market, asof=since), card)
    assert ch.any, "the tiny market changed its story over 18 months"
    out = _run(["monitor", "--since", since], warehouse)
    assert f"What changed from {since} to {card.asof.date()}" in out
    for c in ch.claims:
        assert c["claim"] in out
    if ch.regime_change:
        assert f"regime changed: {ch.regime_change['from']} -> {ch.regime_change['to']}" in out
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", warehouse, "monitor", "--json", "--since", since, "--fail-on-change"])
    assert exc.value.code == 3
    capsys.readouterr()
    # nothing changes between a date and itself: exit 0
    last = str(card.asof.date())
    result = CliRunner().invoke(app, ["--warehouse", warehouse, "monitor", "--json", "--since", last, "--fail-on-change"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["changes"] == [] and d["regime_change"] is None


@pytest.mark.parametrize("args, message", [
    (["--fail-on-change"], "needs --since"),
    (["--since", "2026-06-01"], "is after the as-of date"),  # the tiny market ends in 2025
    (["--since", "2300-01-01"], "--since: expected a date from 1900-01-01 to today"),
    (["--since", "1990-01-01"], "before the first date"),
    (["--since", "yesterday"], "--since: expected a date"),
    (["--since", "2025-01-02", "--move", "2"], "--move"),
])
def test_since_errors_exit_2(warehouse, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", warehouse, "monitor", *args])
    assert exc.value.code == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_classification_option_and_deprecated_config_alias(warehouse, tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[scorecard.C1]\nsupported_percentile = 1.0\nnot_supported_percentile = 1.0\n")
    d = json.loads(_run(["monitor", "--json", "--classification", str(cfg)], warehouse))
    assert d["claims"][0]["verdict"] == "not supported"
    main(["--warehouse", warehouse, "monitor", "--json", "--config", str(cfg)])
    out = capsys.readouterr()
    assert json.loads(out.out)["claims"][0]["verdict"] == "not supported"
    assert "--config is deprecated" in " ".join(out.err.split()) and "--classification" in out.err
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", warehouse, "monitor", "--config", str(cfg), "--classification", str(cfg)])
    assert exc.value.code == 2


# -- the change report's formatting, on hand-built Changes (no market needed) -------------------
def test_num_formats_missing_values_as_a_dash():
    from broadening.cli.monitor import _num

    assert _num(None) == "-" and _num(float("nan"), True) == "-"
    assert _num(0.123456) == "0.123" and _num(0.126, True) == "13%"


def test_pct_move_with_and_without_both_percentiles():
    from broadening.cli.monitor import _pct_move

    assert _pct_move({"percentile_from": 0.2, "percentile_to": 0.65, "percentile_change": 0.45}) == "20% -> 65% (+45 pts)"
    assert _pct_move({"percentile_from": None, "percentile_to": 0.5, "percentile_change": None}) == "- -> 50%"


def _changes(claims, regime_change):
    from types import SimpleNamespace

    import pandas as pd

    return SimpleNamespace(since=pd.Timestamp("2024-01-02"), asof=pd.Timestamp("2024-03-01"), claims=claims,
                           big_move=0.25, score_from=0.4, score_to=float("nan"), regime_change=regime_change)


def test_print_changes_nothing_changed(capsys):
    from broadening.cli.monitor import print_changes

    print_changes(_changes([], None))
    out = " ".join(capsys.readouterr().out.split())
    assert "from 2024-01-02 to 2024-03-01: no verdict changed and no percentile moved 25% or more" in out
    assert "regime unchanged diffusion score 0.4 -> -" in out


def test_print_changes_lists_claims_and_the_regime_change(capsys):
    from broadening.cli.monitor import print_changes

    claim = {"claim": "C3", "from": "mixed", "to": "supported", "verdict_changed": True,
             "percentile_from": 0.1, "percentile_to": 0.9, "percentile_change": 0.8}
    print_changes(_changes([claim], {"from": "scarcity", "to": "diffusion"}))
    out = " ".join(capsys.readouterr().out.split())
    assert "C3" in out and "mixed" in out and "supported" in out and "10% -> 90% (+80 pts)" in out
    assert "regime changed: scarcity -> diffusion diffusion score 0.4 -> -" in out


def test_real_data_shows_no_synthetic_banner(real_warehouse, tiny_market):
    out = _run(["monitor"], str(real_warehouse))
    assert f"Thesis scorecard as of {scorecard(tiny_market).asof.date()}" in out
    assert "SYNTHETIC" not in out and "generated data" not in out
