"""The console entry point: usage errors, storage errors and unexpected errors, as a user meets them."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("argv, message", [
    (["info", "--bogus"], "No such option: --bogus"),
    (["nosuchcmd"], "No such command 'nosuchcmd'."),
    (["ingest", "csv"], "Missing argument 'directory'."),
    (["sweep", "--workers", "two"], "Invalid value for '--workers'"),
])
def test_usage_errors_exit_2_with_click_usage_text_not_a_traceback(run, capsys, argv, message):
    # typer vendors click now: its usage errors used to escape main() as a traceback
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("Usage: ") and f"Error: {message}" in err and "Traceback" not in err


def test_an_unexpected_error_is_not_swallowed(run, capsys, monkeypatch):
    # a bug must show its traceback, not pass for a user error
    from broadening.cli import data

    def broken(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(data, "open_workspace", broken)
    with pytest.raises(ZeroDivisionError, match="a bug"):
        run(capsys, "info")
