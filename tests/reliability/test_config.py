"""Config: a typo is an error naming the valid choices, never a silent change of meaning."""

from __future__ import annotations

import pytest

from broadening.config import load_config
from broadening.errors import ConfigError


def test_config_large_index_typo_names_the_stored_indexes(cli, loaded, tmp_path):
    # it used to make monitor silently treat every security as an index member
    p = tmp_path / "c.toml"
    p.write_text('[universe]\nlarge_index = "sp5000"\n')
    cli("--warehouse", loaded, "monitor", "--config", p).assert_clear_error(
        "c.toml", "universe.large_index", "'sp5000'", "'sp500'")


def test_config_large_index_without_any_membership_uses_every_security():
    cfg = load_config()
    cfg.check_large_index([])  # a user's data without a membership table: allowed
    cfg.check_large_index(["sp500", "smallmid"])
    with pytest.raises(ConfigError, match="'sp500', 'sp5000x'"):
        cfg.with_overrides({"universe": {"large_index": "nope"}}).check_large_index(["sp5000x", "sp500"])


@pytest.mark.parametrize("toml, fragment", [
    ("[universe]\nlarge_index = 5\n", "expected a str"),
    ("[unvierse]\nk = 3\n", "unknown key 'unvierse'"),
    ("[universe\n", "not valid TOML"),
])
def test_config_errors_name_file_and_key(cli, loaded, tmp_path, toml, fragment):
    p = tmp_path / "c.toml"
    p.write_text(toml)
    cli("--warehouse", loaded, "monitor", "--config", p).assert_clear_error("c.toml", fragment)
