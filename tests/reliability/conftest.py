"""The hostile-input suite (issue #15): helpers to run the CLI and check its promise.

The promise, for every case: exit status 0 with the right data, or exit status 2 with
one ``error:`` line naming the file/row/field (or option/key) and no traceback; and on
failure the warehouse is byte-for-byte what it was.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from broadening.cli import main

from ..good_csv import GOOD, write_dir


def snapshot(path: Path) -> dict[str, str]:
    """SHA-256 of the warehouse file and of its write-ahead log (absent files included as such)."""
    out = {}
    for p in (path, path.with_name(path.name + ".wal")):
        out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "absent"
    return out


class Outcome:
    """What one CLI run did: exit status, stdout and stderr (raw, as a terminal would show them)."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def error_lines(self) -> list[str]:
        return [ln for ln in self.err.splitlines() if ln.startswith("error:")]

    def assert_clear_error(self, *fragments: str) -> str:
        """Exit status 2, exactly one ``error:`` line (no traceback), holding every fragment."""
        assert self.code == 2, (self.code, self.err[-2000:])
        assert "Traceback" not in self.err, self.err[-2000:]
        assert len(self.error_lines) == 1, self.err[-2000:]
        line = self.error_lines[0]
        assert len(line) < 1500, f"error line of {len(line)} characters"
        for f in fragments:
            assert f in line, (f, line)
        return line

    def assert_ok(self) -> None:
        assert self.code == 0, (self.code, self.err[-2000:])
        assert "Traceback" not in self.err and not self.error_lines, self.err[-2000:]


@pytest.fixture
def cli(capsys) -> Callable[..., Outcome]:
    """``cli(*argv) -> Outcome``: run the CLI in this process (an uncaught exception fails the test)."""

    def run(*argv: str) -> Outcome:
        try:
            main([str(a) for a in argv])
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def good_dir(tmp_path) -> Path:
    return write_dir(tmp_path / "good", GOOD)


@pytest.fixture(scope="session")
def loaded_template(tmp_path_factory) -> Path:
    """A warehouse holding :data:`GOOD`, ingested once (tests get a copy)."""
    from broadening.providers.files import read_table_dir
    from broadening.warehouse import Warehouse

    d = write_dir(tmp_path_factory.mktemp("good"), GOOD)
    path = tmp_path_factory.mktemp("template") / "w.duckdb"
    tables, sources = read_table_dir(d)
    with Warehouse(path) as wh:
        wh.ingest(tables, source=f"csv:{d}", sources=sources)
    return path


@pytest.fixture
def loaded(loaded_template, tmp_path) -> Path:
    """A fresh copy of a warehouse holding :data:`GOOD`."""
    wh = tmp_path / "w.duckdb"
    shutil.copyfile(loaded_template, wh)
    return wh


@pytest.fixture(autouse=True)
def _no_lock_wait(monkeypatch):
    # a busy warehouse is reported at once in these tests (the waiting is tested on its own)
    monkeypatch.setenv("BROADENING_LOCK_TIMEOUT", "0")
