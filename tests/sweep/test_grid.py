"""Sweep grid files: expansion order, walk-forward splits, and clear errors naming file and key."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from broadening.errors import ConfigError
from broadening.playbook.config import PlaybookConfig
from broadening.sweep.grid import AXES, load_grid, parse_grid, resolve_splits

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep.toml"


def write(tmp_path: Path, text: str, name: str = "grid.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_example_grid_has_a_dozen_variants():
    g = load_grid(EXAMPLE)
    assert len(g) == 12
    assert [v.id for v in g.variants] == list(range(12))
    assert set(g.varied) == {"top_k", "cut", "sleeves"}
    assert g.variants[0].config.sleeves.shares() == PlaybookConfig().sleeves.shares()


def test_expansion_order_and_configs(tmp_path):
    p = write(tmp_path, """
[grid]
top_k = [5, 10]
cap = [0.02, 0.04]
schedule = ["monthly", "quarterly"]
regime_scaling = [false]
[grid.sleeves.core]
equal_weight_core = 1.0
""")
    g = load_grid(p)
    assert len(g) == 8
    # the last axis varies fastest: schedule, regime_scaling, top_k, cap, sleeves
    first = [(v.params["schedule"], v.params["top_k"], v.params["cap"]) for v in g.variants[:4]]
    assert first == [("monthly", 5, 0.02), ("monthly", 5, 0.04), ("monthly", 10, 0.02), ("monthly", 10, 0.04)]
    v = g.variants[5]
    assert v.config.portfolio.schedule == "quarterly" and v.config.trim.top_k == 5 and v.config.trim.cap == 0.04
    assert v.config.sleeves.shares()["equal_weight_core"] == 1.0 and v.config.sleeves.shares()["bdcs"] == 0.0
    assert list(v.params) == list(AXES)


def test_base_playbook_file_is_used(tmp_path):
    write(tmp_path, "[constraints]\nmax_weight = 0.07\n[costs]\nbps = 3.0\n", "pb.toml")
    g = load_grid(write(tmp_path, '[sweep]\nplaybook = "pb.toml"\ncosts = false\n[grid]\ntop_k = [3]\n'))
    assert g.variants[0].config.constraints.max_weight == 0.07 and g.variants[0].config.costs.bps == 3.0
    assert g.costs is False and g.variants[0].config.trim.top_k == 3


def test_rolling_walk_forward_splits(tmp_path):
    g = load_grid(write(tmp_path, "[grid]\ntop_k = [5, 10]\n[walk_forward]\ntrain_years = 3\ntest_years = 2\n"))
    assert g.variants == []  # resolved against the data's dates
    dates = pd.bdate_range("2010-01-01", "2020-12-31")
    resolve_splits(g, dates, pd.Timestamp("2011-01-03"))
    names = [s.name for s in g.splits]
    assert names == ["wf1", "wf2", "wf3"]
    s = g.splits[0]
    assert s.train_start == pd.Timestamp("2011-01-03") and s.train_end < s.test_end
    assert g.splits[1].train_start == s.train_start + pd.DateOffset(years=2)
    assert len(g) == 6 and [v.split.name for v in g.variants[:3]] == ["wf1", "wf2", "wf3"]
    anchored = load_grid(write(tmp_path, "[walk_forward]\ntrain_years = 3\ntest_years = 2\nanchored = true\n", "a.toml"))
    resolve_splits(anchored, dates, pd.Timestamp("2011-01-03"))
    assert len({s.train_start for s in anchored.splits}) == 1


def test_explicit_splits(tmp_path):
    g = load_grid(write(tmp_path, """
[[walk_forward.splits]]
train = ["2012-01-01", "2015-12-31"]
test_end = "2017-12-31"
"""))
    assert len(g) == 1 and g.variants[0].split.test_end == pd.Timestamp("2017-12-31")


def test_too_short_data_for_a_split(tmp_path):
    g = load_grid(write(tmp_path, "[walk_forward]\ntrain_years = 30\ntest_years = 5\n"))
    with pytest.raises(ConfigError, match=r"grid.toml: key 'walk_forward'"):
        resolve_splits(g, pd.bdate_range("2010-01-01", "2020-12-31"), pd.Timestamp("2011-01-03"))


@pytest.mark.parametrize("text, key", [
    ("[grids]\ntop_k = [5]\n", "grids"),
    ("[grid]\nbogus = [1]\n", "grid.bogus"),
    ("[grid]\ntop_k = [0]\n", "grid.top_k"),
    ("[grid]\ntop_k = [5, 5]\n", "grid.top_k"),
    ("[grid]\ntop_k = []\n", "grid.top_k"),
    ("[grid]\ntop_k = ['5']\n", "grid.top_k"),
    ("[grid]\ncap = [1.5]\n", "grid.cap"),
    ("[grid]\nschedule = ['hourly']\n", "grid.schedule"),
    ("[grid]\nschedule = ['daily']\n", "grid.schedule"),
    ("[grid]\nregime_scaling = ['yes']\n", "grid.regime_scaling"),
    ("[grid.sleeves.a]\nequal_weight_core = 0.5\n", "grid.sleeves.a"),
    ("[grid.sleeves.a]\nequal_weight_core = 0.5\ncrypto = 0.5\n", "grid.sleeves.a.crypto"),
    ("[grid.sleeves.a]\nequal_weight_core = 1.5\nbdcs = -0.5\n", "grid.sleeves.a.bdcs"),
    ("[grid]\nsleeves = [0.5, 0.5]\n", "grid.sleeves"),
    ("[sweep]\nworkers = 4\n", "sweep.workers"),
    ("[sweep]\ncosts = 'no'\n", "sweep.costs"),
    ("[sweep]\nplaybook = 'missing.toml'\n", "sweep.playbook"),
    ("[walk_forward]\ntrain_years = 5\n", "walk_forward.test_years"),
    ("[walk_forward]\ntrain_years = -1\ntest_years = 2\n", "walk_forward.train_years"),
    ("[walk_forward]\ntrain_years = 5\ntest_years = 2\nfold = 3\n", "walk_forward.fold"),
    ("[walk_forward]\ntrain_years = 5\ntest_years = 2\nanchored = 1\n", "walk_forward.anchored"),
    ("[[walk_forward.splits]]\ntrain = ['2015-01-01', '2012-01-01']\ntest_end = '2016-01-01'\n", "walk_forward.splits[0]"),
    ("[[walk_forward.splits]]\ntrain = ['2015-01-01']\ntest_end = '2016-01-01'\n", "walk_forward.splits[0].train"),    ("[grid]\ncut = [1.5]\n", "grid.cut"),
    ("[grid]\ncut = [-0.1]\n", "grid.cut"),
    ("[grid.sleeves]\na = 0.5\n", "grid.sleeves.a"),
    ("[[walk_forward.splits]]\ntrain = ['2015-01-01', '2016-01-01']\ntest_end = 'soon'\n", "walk_forward.splits[0].test_end"),
    ("[[walk_forward.splits]]\ntrain = ['1800-01-01', '2016-01-01']\ntest_end = '2017-01-01'\n", "walk_forward.splits[0].train"),
    ("walk_forward = 5\n", "walk_forward"),
    ("[walk_forward]\ntrain_years = 5\nsplits = [{train = ['2015-01-01', '2016-01-01'], test_end = '2017-01-01'}]\n",
     "walk_forward.train_years"),
    ("[walk_forward]\nsplits = []\n", "walk_forward.splits"),
    ("[[walk_forward.splits]]\ntrain = ['2015-01-01', '2016-01-01']\ntest_end = '2017-01-01'\nfold = 1\n",
     "walk_forward.splits[0]"),
    ("[[walk_forward.splits]]\ntrain = ['2015-01-01', '2016-01-01']\n", "walk_forward.splits[0]"),
    ("sweep = 5\n", "sweep"),
    ("[sweep]\nplaybook = 5\n", "sweep.playbook"),
    ("grid = 5\n", "grid"),
])
def test_bad_grids_name_file_and_key(tmp_path, text, key):
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_grid(p)
    msg = str(exc.value)
    assert str(p) in msg and f"key '{key}'" in msg, msg


def test_bad_base_playbook_names_its_file(tmp_path):
    write(tmp_path, "[trim]\ntop_k = 0\n", "pb.toml")
    with pytest.raises(ConfigError, match=r"pb.toml: key 'trim.top_k'"):
        load_grid(write(tmp_path, '[sweep]\nplaybook = "pb.toml"\n'))


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="grid file not found"):
        load_grid(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_grid(write(tmp_path, "[grid\n"))


def test_missing_and_invalid_base_playbook_name_the_key_and_the_file(tmp_path):
    grid = write(tmp_path, '[sweep]\nplaybook = "pb.toml"\n')
    with pytest.raises(ConfigError, match=r"key 'sweep.playbook': .*pb.toml: playbook config not found"):
        load_grid(grid)
    write(tmp_path, "[trim\n", "pb.toml")
    with pytest.raises(ConfigError, match=r"key 'sweep.playbook': .*pb.toml: not valid TOML"):
        load_grid(grid)


def test_parse_grid_from_a_dict_defaults_to_one_variant():
    g = parse_grid({})
    assert len(g) == 1 and g.variants[0].config.trim == PlaybookConfig().trim


def test_a_document_that_is_not_a_table_is_refused():
    with pytest.raises(ConfigError, match=r"^g.toml: expected a TOML document$"):
        parse_grid([1, 2], "g.toml")


def test_regime_scaling_axis_keeps_its_booleans_in_order(tmp_path):
    g = load_grid(write(tmp_path, "[grid]\nregime_scaling = [false, true]\n"))
    assert g.axes["regime_scaling"] == [False, True]
    assert [v.params["regime_scaling"] for v in g.variants] == [False, True]
    assert [v.config.trim.regime_scaling for v in g.variants] == [False, True]


def test_a_grid_over_the_variant_limit_is_refused_with_its_size_per_axis():
    from broadening.errors import LimitError

    doc = {"grid": {"top_k": [2, 3, 4], "cut": [0.2, 0.4]},
           "walk_forward": {"splits": [{"train": ["2015-01-01", "2016-01-01"], "test_end": "2017-01-01"},
                                       {"train": ["2016-01-01", "2017-01-01"], "test_end": "2018-01-01"}]}}
    # 3 x 2 parameter sets x 2 splits = 12 variants
    with pytest.raises(LimitError, match=r"^g.toml: key 'grid': 12 variants \(3 top_k x 2 cut x 2 splits\) is more than "
                                         r"the limit of 11;"):
        parse_grid(doc, "g.toml", max_variants=11)
    g = parse_grid(doc, "g.toml", max_variants=12)
    assert len(g.variants) == 12


def test_config_id_is_shared_by_the_splits_of_one_parameter_set():
    doc = {"grid": {"top_k": [2, 3]},
           "walk_forward": {"splits": [{"train": ["2015-01-01", "2016-01-01"], "test_end": "2017-01-01"},
                                       {"train": ["2016-01-01", "2017-01-01"], "test_end": "2018-01-01"}]}}
    g = parse_grid(doc, "g.toml")
    ids = [v.config_id for v in g.variants]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert ids[0] == tuple(g.variants[0].params[a] for a in AXES)
    assert [ids[0][list(AXES).index("top_k")], ids[2][list(AXES).index("top_k")]] == [2, 3]


def test_an_absolute_base_playbook_path_is_read_as_given(tmp_path):
    pb = tmp_path / "books" / "pb.toml"
    pb.parent.mkdir()
    pb.write_text("[trim]\ntop_k = 7\n")
    g = parse_grid({"sweep": {"playbook": str(pb)}, "grid": {"cut": [0.5]}}, "g.toml", base_dir=tmp_path / "elsewhere")
    assert g.variants[0].config.trim.top_k == 7
    # and a relative one with no base directory is relative to the working directory
    with pytest.raises(ConfigError, match=r"key 'sweep.playbook'"):
        parse_grid({"sweep": {"playbook": "no/such/pb.toml"}, "grid": {"cut": [0.5]}}, "g.toml")
