"""Environment: a second process meets a warehouse that is being written (two real processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import broadening
from broadening.warehouse import Warehouse

from .conftest import write_dir

SRC = str(Path(broadening.__file__).resolve().parents[1])


@pytest.fixture
def writer(loaded, tmp_path):
    """A second process in the middle of an ingest into ``loaded`` (paused inside its transaction)."""
    src = write_dir(tmp_path / "more", {"series.csv": "series_id,date,value\nIG,2024-01-02,1.2\n"})
    env = {**os.environ, "PYTHONPATH": SRC, "BROADENING_PAUSE_IN_INGEST": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from broadening.cli import main; sys.argv[0] = 'broadening'; main()",
         "--warehouse", str(loaded), "ingest", "csv", str(src)],
        env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
    )
    deadline = time.monotonic() + 60
    seen = ""
    while "PAUSED" not in seen and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stderr.readline()
    assert "PAUSED" in seen, seen
    yield proc
    proc.wait(timeout=60)


def test_environment_reader_and_writer_during_a_write(cli, loaded, writer, monkeypatch):
    # told at once that the warehouse is busy, and by which process (it used to be DuckDB's traceback)
    line = cli("--warehouse", loaded, "info").assert_clear_error("w.duckdb", "busy", f"PID {writer.pid}")
    assert "try again" in line
    cli("--warehouse", loaded, "ingest", "synthetic", "--preset", "tiny").assert_clear_error("busy", f"PID {writer.pid}")
    # or, given a timeout, waits for the writer and reads what it committed
    monkeypatch.setenv("BROADENING_LOCK_TIMEOUT", "60")
    res = cli("--warehouse", loaded, "info", "--json")
    res.assert_ok()
    assert '"IG"' in res.out
    writer.wait(timeout=60)
    assert writer.returncode == 0, writer.stderr.read()
    with Warehouse(loaded, read_only=True) as wh:
        assert set(wh.table("series")["series_id"]) == {"HY", "IG"}
