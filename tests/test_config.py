"""The classification config: shipped defaults, deep merge, and errors naming file and key."""

from __future__ import annotations

import tomllib

import pytest

from broadening.config import DEFAULT_PATH, load_config
from broadening.errors import ConfigError


def test_defaults_match_the_issue():
    cfg = load_config()
    assert cfg.universe.large_index == "sp500"
    assert cfg.universe.small_index == "smallmid"
    assert cfg.universe.k == 10
    assert cfg.universe.k_report == (5, 10, 20)
    assert "industrials" in cfg.sectors.cyclical()
    assert "utilities" in cfg.sectors.defensive()
    assert set(cfg.scorecard) == {f"C{i}" for i in range(1, 11)}
    assert cfg.source == "defaults"


def test_every_default_key_is_commented():
    """Each key line of the shipped TOML is preceded by (or carries) a comment in its block."""
    text = DEFAULT_PATH.read_text().splitlines()
    tomllib.loads("\n".join(text))  # valid TOML
    uncommented = []
    for i, line in enumerate(text):
        s = line.strip()
        if not s or s.startswith("#") or s.startswith("["):
            continue
        # walk up to the block start: some comment must exist above within the block
        j = i - 1
        seen = False
        while j >= 0 and text[j].strip():
            if text[j].strip().startswith("#"):
                seen = True
                break
            j -= 1
        if not seen and "#" not in line:
            uncommented.append(s)
    assert uncommented == []


def test_deep_merge_keeps_unchanged_keys(tmp_path):
    p = tmp_path / "my.toml"
    p.write_text('[universe]\nk = 5\n[quality]\nmin_roe = 0.2\n[ai_layer.tickers]\nXYZ = "adopter"\n')
    cfg = load_config(p)
    assert cfg.universe.k == 5
    assert cfg.universe.large_index == "sp500"
    assert cfg.quality.min_roe == 0.2
    assert cfg.quality.max_debt_to_equity == 1.0
    assert cfg.ai_layer.tickers == {"XYZ": "adopter"}
    assert cfg.source == str(p)
    assert cfg.fingerprint != load_config().fingerprint


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[universe]\nkk = 5\n", "universe.kk"),
        ("[nosuch]\na = 1\n", "nosuch"),
        ("[universe]\nk = 'ten'\n", "universe.k"),
        ("[universe]\nk = 0\n", "universe.k"),
        ("[domestic_cyclicals]\ndomestic_revenue_min = 1.5\n", "domestic_cyclicals.domestic_revenue_min"),
        ('[sectors.class]\nEnergy = "sometimes"\n', "sectors.class.Energy"),
        ('[ai_layer.tickers]\nNVDA = "shovels"\n', "ai_layer.tickers.NVDA"),
        ("[scorecard.C1]\nsupported_percentile = 2.0\n", "scorecard.C1.supported_percentile"),
        ("[regime.hysteresis]\nenter_diffusion = 0.3\n", "regime.hysteresis"),
        ("[universe]\nk_report = [5, 'x']\n", "universe.k_report"),
    ],
)
def test_bad_key_or_value_names_file_and_key(tmp_path, text, key):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert str(p) in msg
    assert f"'{key}'" in msg


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    p = tmp_path / "broken.toml"
    p.write_text("[universe\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)


def test_with_overrides():
    cfg = load_config().with_overrides({"universe": {"k": 20}})
    assert cfg.universe.k == 20
    with pytest.raises(ConfigError, match="'universe.q'"):
        load_config().with_overrides({"universe": {"q": 1}})


@pytest.mark.parametrize(("override", "message"), [
    # a table where a value goes: named as a table, not as a Python dict type
    ({"universe": {"k": {"x": 1}}}, "key 'universe.k': expected a number, got {'x': 1}"),
    ({"universe": 5}, "key 'universe': expected a table, got 5"),
    # a user's own AI tags must be layer names (strings), not numbers
    ({"ai_layer": {"tickers": {"NVDA": 1}}}, "key 'ai_layer.tickers.NVDA': expected a string, got 1"),
    ({"universe": {"k": [10]}}, "key 'universe.k': expected a number, got [10]"),
])
def test_wrong_kinds_are_named(override, message):
    with pytest.raises(ConfigError) as exc:
        load_config().with_overrides(override)
    assert str(exc.value) == f"<overrides>: {message}"
