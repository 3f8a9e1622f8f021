"""Environment: a full disk. "No space left on device" is the message, and nothing stored is lost.

Two ways to fill a disk: a real 4 MB tmpfs (needs root, as ``make test`` in CI runs; skipped
otherwise), and an injected ENOSPC from the file writes the program makes itself.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from broadening.report.html import write_page
from broadening.schema import TABLE_ORDER
from broadening.warehouse import Warehouse

from .conftest import write_dir


def dump(path):
    with Warehouse(path, read_only=True) as wh:
        return {n: sorted(map(str, wh.table(n).itertuples(index=False))) for n in TABLE_ORDER}


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_environment_full_disk_during_ingest_keeps_the_warehouse(cli, good_dir, small_disk):
    wh = small_disk / "w.duckdb"
    cli("--warehouse", wh, "ingest", "csv", good_dir).assert_ok()
    before = dump(wh)
    # the tiny synthetic market (~300,000 rows) does not fit in what is left of 4 MB
    cli("--warehouse", wh, "ingest", "synthetic", "--preset", "tiny").assert_clear_error(
        "No space left on device", "w.duckdb")
    assert dump(wh) == before  # readable, and exactly what it held


def test_environment_full_disk_during_export_leaves_nothing(cli, loaded, small_disk):
    # fill the small disk first, so the export's Parquet files cannot be written
    (small_disk / "filler").write_bytes(b"\0" * (4 * 2**20 - 8192))
    out = small_disk / "exp"
    cli("--warehouse", loaded, "export", out).assert_clear_error("No space left on device")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


@pytest.fixture
def enospc_on_write(monkeypatch):
    """Every Path.write_text / write_bytes fails as a full disk would, after creating the file."""

    def fail(self, *args, **kwargs):
        with open(self, "wb"):
            pass
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", fail)
    monkeypatch.setattr(Path, "write_bytes", fail)


def test_environment_injected_enospc_during_export(cli, loaded, tmp_path, enospc_on_write):
    out = tmp_path / "exp"
    cli("--warehouse", loaded, "export", out).assert_clear_error("No space left on device")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".exp")]


def test_environment_injected_enospc_keeps_a_previous_export(cli, loaded, tmp_path, monkeypatch):
    out = tmp_path / "exp"
    cli("--warehouse", loaded, "export", out).assert_ok()
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", fail)
    cli("--warehouse", loaded, "export", out).assert_clear_error("No space left on device")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_environment_injected_enospc_writing_the_report(tmp_path, enospc_on_write):
    out = tmp_path / "r.html"
    with pytest.raises(Exception, match="No space left on device") as err:
        write_page(out, "<html></html>")
    assert type(err.value).__name__ == "ReportPathError"
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


def test_environment_report_keeps_the_previous_version(tmp_path, monkeypatch):
    out = write_dir(tmp_path / "d", {"r.html": "old"}) / "r.html"

    def fail(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))

    monkeypatch.setattr(Path, "write_text", fail)
    with pytest.raises(Exception, match="previous version is kept"):
        write_page(out, "new")
    assert out.read_bytes() == b"old" and [p.name for p in out.parent.iterdir()] == ["r.html"]
