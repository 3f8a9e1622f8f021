"""Playbook config: documented defaults, and every bad config rejected before any work."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from broadening.errors import ConfigError
from broadening.playbook import PlaybookConfig, load_playbook_config, run_backtests

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "playbook.toml"


def test_example_file_holds_exactly_the_defaults():
    cfg = load_playbook_config(EXAMPLE)
    default = PlaybookConfig()
    for f in dataclasses.fields(default):
        if f.name != "source":
            assert getattr(cfg, f.name) == getattr(default, f.name), f.name


def test_every_default_key_is_commented_in_the_example():
    text = EXAMPLE.read_text().splitlines()
    default = PlaybookConfig()
    for f in dataclasses.fields(default):
        if f.name == "source":
            continue
        for key in (k.name for k in dataclasses.fields(getattr(default, f.name))):
            line = next((i for i, t in enumerate(text) if t.startswith(f"{key} =") or t.startswith(f"[{f.name}.{key}]")), None)
            assert line is not None, key
            assert text[line - 1].startswith("#"), f"{f.name}.{key} has no comment above it"


def write(tmp_path, body: str) -> Path:
    p = tmp_path / "pb.toml"
    p.write_text(body)
    return p


BAD = [
    ("[trim]\ntop_kk = 3\n", "trim.top_kk", "unknown key"),
    ("[nonsense]\na = 1\n", "nonsense", "unknown section"),
    ("[sleeves]\nbdcs = 0.5\n", "sleeves", "sum to 1"),
    ("[sleeves]\nbdcs = -0.1\nequal_weight_core = 0.5\n", "sleeves.bdcs", ">= 0"),
    ("[trim]\ncap = -0.02\n", "trim.cap", "(0, 1]"),
    ("[constraints]\nmax_weight = -0.05\n", "constraints.max_weight", "(0, 1]"),
    ("[costs]\nbps = -1\n", "costs.bps", ">= 0"),
    ("[constraints]\nturnover_budget = -0.1\n", "constraints.turnover_budget", ">= 0"),
    ("[trim]\nmode = \"chop\"\n", "trim.mode", "'cap' or 'cut'"),
    ("[trim]\ntop_k = \"ten\"\n", "trim.top_k", "integer"),
    ("[constraints.sector_bounds]\nEnergy = [0.3, 0.2]\n", "constraints.sector_bounds.Energy", "min <= max"),
    ("[constraints.sector_bounds]\nEnergy = [0.6, 1.0]\nMaterials = [0.5, 1.0]\n", "constraints.sector_bounds", "cannot all hold"),
    ("[momentum]\nskip = 300\n", "momentum.skip", "lookback"),
    ("[portfolio]\nschedule = \"hourly\"\n", "portfolio.schedule", "monthly"),
]


@pytest.mark.parametrize("body,key,fragment", BAD, ids=[b[1] for b in BAD])
def test_bad_config_names_file_and_key(tmp_path, body, key, fragment):
    p = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_playbook_config(p)
    msg = str(info.value)
    assert str(p) in msg and f"'{key}'" in msg and fragment in msg, msg


def test_not_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_playbook_config(write(tmp_path, "[trim\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_playbook_config(tmp_path / "nope.toml")


def _five_names(make_market):
    closes = {f"S{i}": list(100 + np.arange(300.0) * (i + 1) * 0.01) for i in range(5)}
    return make_market(closes, sectors={"S0": "Energy", "S1": "Energy"})


def test_impossible_max_weight_rejected_before_any_work(tmp_path, make_market):
    market = _five_names(make_market)
    calls = []

    def spy(m):
        calls.append(1)
        return np.zeros(m.shape, dtype=bool)

    p = write(tmp_path, "[constraints]\nmax_weight = 0.1\n[portfolio]\nschedule = \"monthly\"\n")
    with pytest.raises(ConfigError, match=r"constraints.max_weight.*5 investable names"):
        run_backtests(market, p, baskets={"bdcs": spy})
    # the eligibility check may read baskets, but no strategy was run
    assert len(calls) <= 1


def test_sector_bound_on_missing_sector_rejected(tmp_path, make_market):
    market = _five_names(make_market)
    p = write(tmp_path, "[constraints]\nmax_weight = 0.5\n[constraints.sector_bounds]\nUtilities = [0.1, 0.5]\n")
    with pytest.raises(ConfigError, match="constraints.sector_bounds.Utilities"):
        run_backtests(market, p, baskets={})
    p = write(tmp_path, "[constraints]\nmax_weight = 0.5\n[constraints.sector_bounds]\nEnergy = [0.0, 0.3]\nIndustrials = [0.0, 0.3]\n")
    with pytest.raises(ConfigError, match="sum to 0.600 < 1"):
        run_backtests(market, p, baskets={})
