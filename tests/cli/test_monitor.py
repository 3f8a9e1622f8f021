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


def test_config_changes_thresholds(warehouse, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[scorecard.C1]\nsupported_percentile = 1.0\nnot_supported_percentile = 1.0\n")
    d = json.loads(_run(["monitor", "--json", "--config", str(cfg)], warehouse))
    assert d["claims"][0]["verdict"] == "not supported"


def test_bad_config_exits_2_naming_file_and_key(warehouse, tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[universe]\nkay = 3\n")
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", warehouse, "monitor", "--config", str(cfg)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "universe.kay" in err


def test_missing_warehouse_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--warehouse", str(tmp_path / "none.duckdb"), "monitor"])
    assert exc.value.code == 2
    assert "no warehouse" in capsys.readouterr().err
