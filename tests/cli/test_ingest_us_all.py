"""CLI ``ingest synthetic --preset us-all``: the whole-market preset, streamed into the warehouse."""

from __future__ import annotations

from broadening.warehouse import Warehouse


def test_us_all_small_scale_is_stored_and_labelled(run, capsys, tmp_path):
    db = tmp_path / "u.duckdb"
    code, _, err = run(capsys, "--warehouse", str(db), "ingest", "synthetic", "--preset", "us-all", "--scale", "0.02")
    assert code == 0, err
    assert "SYNTHETIC" in err and "us-all" in err
    with Warehouse(db, read_only=True) as wh:
        meta = wh.meta()
        assert wh.synthetic and meta["preset"] == "us-all" and meta["scale"] == 0.02
        assert wh.counts()["prices"] == meta["calibration"]["live_security_days"]
        assert wh.date_range()[0].year == 1990


def test_scale_on_a_fixed_preset_is_refused_and_stores_nothing(run, capsys, tmp_path):
    db = tmp_path / "u.duckdb"
    code, _, err = run(capsys, "--warehouse", str(db), "ingest", "synthetic", "--preset", "demo", "--scale", "0.5")
    assert code == 2
    assert "--scale" in err and "us-all" in err
    assert not db.exists() or Warehouse(db, read_only=True).counts()["prices"] == 0
