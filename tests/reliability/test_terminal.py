"""Terminal output: user text is printed as itself, never read as rich markup."""

from __future__ import annotations

import pytest

from .conftest import GOOD, write_dir

MARKUP = ["[/x]", "[bold red]", "[/]", "[link=file:///etc/passwd]x[/link]", "\\[x]"]


@pytest.mark.parametrize("value", MARKUP)
def test_terminal_markup_in_a_csv_value_is_printed_literally(cli, loaded, tmp_path, value):
    # a bad close: the value is quoted in the error message (it used to crash the message itself)
    src = write_dir(tmp_path / "in", {"prices.csv": f"security_id,date,close\nA,2024-01-04,{value}\n"})
    line = cli("--warehouse", loaded, "ingest", "csv", src).assert_clear_error("prices.csv", "column 'close'")
    assert repr(value) in line


def test_terminal_markup_in_a_directory_name(cli, tmp_path):
    # the success message after the commit used to crash on the directory's name
    src = write_dir(tmp_path / "d[/x]", GOOD)
    wh = tmp_path / "w[bold].duckdb"
    res = cli("--warehouse", wh, "ingest", "csv", src)
    res.assert_ok()
    assert "d[/x]" in res.err and "w[bold].duckdb" in res.err
    info = cli("--warehouse", wh, "info")
    info.assert_ok()
    assert "w[bold].duckdb" in info.out  # the title; the source column is cut to the terminal's width


def test_terminal_known_keys_in_brackets_are_not_swallowed(cli, loaded, tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[trim]\ntopk = 3\n")
    line = cli("--warehouse", loaded, "backtest", "--playbook", p).assert_clear_error("trim.topk")
    assert "known in [trim]:" in line  # printed as "known in :" when read as markup


def test_terminal_markup_in_an_error_from_an_option(cli, loaded):
    cli("--warehouse", loaded, "monitor", "--asof", "[/x]").assert_clear_error("'[/x]'")
