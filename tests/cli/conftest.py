"""CLI test helpers: run a command in-process and a tiny synthetic warehouse."""

from __future__ import annotations

import pytest

from broadening.cli import main
from broadening.warehouse import Warehouse


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    # rich wraps long error lines to the terminal width; compare on single spaces
    return code, out.out, " ".join(out.err.split())


@pytest.fixture
def run():
    """``run(capsys, *argv) -> (exit code, stdout, stderr with whitespace collapsed)``."""
    return _run


@pytest.fixture(scope="module")
def tiny_warehouse(tmp_path_factory, tiny_synthetic):
    """A warehouse file holding the tiny synthetic market (one per test module)."""
    path = tmp_path_factory.mktemp("wh") / "w.duckdb"
    with Warehouse(path) as wh:
        wh.ingest(tiny_synthetic.tables, source="synthetic", synthetic=True, replace=True, meta=tiny_synthetic.meta)
    return path


@pytest.fixture(scope="module")
def real_warehouse(tmp_path_factory, tiny_synthetic):
    """The tiny market stored as a real source would store it: no SYNTHETIC flag anywhere."""
    path = tmp_path_factory.mktemp("real") / "w.duckdb"
    with Warehouse(path) as wh:
        wh.ingest(tiny_synthetic.tables, source="csv:/data/market", replace=True)
    return path
