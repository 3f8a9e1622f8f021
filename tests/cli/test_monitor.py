"""``broadening monitor``: JSON shape, rich table with the SYNTHETIC banner, --asof, --config, errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from broadening.cli import app, main
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


def test_json(warehouse, tiny_market):
    d = json.loads(_run(["monitor", "--json"], warehouse))
    assert set(d) >= {"asof", "regime", "diffusion_score", "claims"}
    assert d["asof"] == str(tiny_market.index[-1].date())
    assert d["regime"] in {"scarcity", "transition", "diffusion"}
    assert [c["id"] for c in d["claims"]] == [f"C{i}" for i in range(1, 11)]
    for c in d["claims"]:
        assert {"id", "claim", "metric", "value", "percentile", "trend", "verdict", "reason"} <= set(c)
        assert c["verdict"] in {"supported", "not supported", "mixed", "n/a"}


def test_asof(warehouse):
    d = json.loads(_run(["monitor", "--json", "--asof", "2021-03-15"], warehouse))
    assert d["asof"] <= "2021-03-15"
    assert d["asof"] >= "2021-03-08"


def test_table_has_banner_verdicts_and_regime(warehouse):
    out = _run(["monitor"], warehouse)
    assert "SYNTHETIC" in out
    assert "Thesis scorecard" in out
    assert "regime:" in out and "diffusion score" in out
    assert "C10" in out
    assert any(v in out for v in ("supported", "mixed"))


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
