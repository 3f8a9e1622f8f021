"""Parquet exports of the warehouse: complete or absent, and refused when incomplete.

An export is a directory with one ``<table>.parquet`` per canonical table and a
``_meta.json`` manifest (format, row count per table, the warehouse's recorded facts).
It is written into a hidden sibling directory and renamed into place only once every
file is written, so a full disk or a killed process leaves either the previous export
or nothing, never a directory with some of the tables.

An import in replace mode (the default) needs a complete export: the manifest and every
table it lists, with the listed row counts; and it refuses to empty a table that holds
rows unless asked (``allow_empty``), since a table exported empty replaces stored rows
with nothing.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from broadening.errors import BroadeningError, DataValidationError, shorten
from broadening.schema import TABLE_ORDER

MANIFEST = "_meta.json"
FORMAT = "broadening-export"
VERSION = 1


class ExportError(BroadeningError):
    """An export cannot be written where asked, or a directory is not a complete export."""


@dataclass
class ExportContents:
    """What an export directory holds, checked: raw frames, their files, and the recorded facts."""

    tables: dict[str, pd.DataFrame]
    sources: dict[str, str]
    meta: dict[str, object]
    synthetic: bool


def _is_export(d: Path) -> bool:
    """True when ``d`` holds only what an export writes (so replacing it loses nothing else)."""
    names = {f"{n}.parquet" for n in TABLE_ORDER} | {MANIFEST}
    return all(p.name in names for p in d.iterdir())


def prepare_target(directory: str | Path) -> Path:
    """Check ``directory`` can receive an export before any work; create missing parents.

    Raises
    ------
    ExportError
        It is a file, or a directory holding files other than a previous export.
    """
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is a file; export writes a directory (choose a new or empty one)")
    if out.is_dir() and not _is_export(out):
        others = sorted(p.name for p in out.iterdir() if p.name not in {f"{n}.parquet" for n in TABLE_ORDER} | {MANIFEST})
        raise ExportError(f"{out}: the directory holds other files ({', '.join(shorten(o, 40) for o in others[:3])}"
                          f"{' ...' if len(others) > 3 else ''}); export into a new or empty directory")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out}: cannot create the parent directory ({exc.strerror or exc})") from None
    return out


def write_export(out: Path, write_table, meta: dict[str, object], counts: dict[str, int]) -> dict[str, Path]:
    """Write an export atomically: every table and the manifest, then one rename.

    Parameters
    ----------
    out : Path
        Target directory (checked by :func:`prepare_target`).
    write_table : callable
        ``write_table(name, path)`` writes table ``name`` as Parquet to ``path``.
    meta : dict
        The warehouse's recorded facts (``_meta``).
    counts : dict
        Rows per table, recorded in the manifest so an import can check it got them all.

    Returns
    -------
    dict of str to Path
        The final path of each table's file.
    """
    def fill(tmp: Path) -> None:
        for n in TABLE_ORDER:
            write_table(n, tmp / f"{n}.parquet")
        manifest = {"format": FORMAT, "version": VERSION, "tables": counts, "meta": meta}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str), encoding="utf-8")

    replace_dir(out, fill)
    return {n: out / f"{n}.parquet" for n in TABLE_ORDER}


def replace_dir(out: Path, fill: Callable[[Path], None]) -> None:
    """Replace directory ``out`` by what ``fill(tmp)`` writes into a fresh hidden sibling, all or nothing.

    ``out`` is swapped in by one rename once ``fill`` returns; a previous ``out`` stays whole
    until then (and is put back if the swap fails), so a full disk or a killed process leaves
    the previous directory or nothing, never a half-written one.
    """
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        fill(tmp)
        if out.is_dir():
            out.rename(old)  # the previous export stays whole until the new one is in place
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not out.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(directory: Path) -> dict | None:
    """The parsed ``_meta.json`` of an export directory (None when there is none)."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path}: not valid JSON ({shorten(str(exc), 100)}); is this an export "
                          "written by 'broadening export'?") from None
    except OSError as exc:
        raise ExportError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not isinstance(doc, dict):
        raise ExportError(f"{path}: expected a JSON object (as written by 'broadening export'), got {shorten(doc, 60)}")
    return doc


def read_export(directory: str | Path, *, complete: bool) -> ExportContents:
    """Read an export directory, checking it is whole.

    Parameters
    ----------
    directory : str or Path
    complete : bool
        Require a complete export (manifest, every table, the recorded row counts), as a
        replacing import does. When False (a merge), any subset of the tables is read.

    Raises
    ------
    ExportError
        Missing manifest or tables, row counts that differ from the manifest, a bad manifest.
    """
    from broadening.providers.files import read_table_dir

    d = Path(directory)
    if not d.is_dir():
        raise ExportError(f"{d}: not a directory (expected one written by 'broadening export')")
    doc = read_manifest(d)
    if doc is None and complete:
        raise ExportError(f"{d}: not a complete export (no {MANIFEST}; an export cut short?): nothing was imported. "
                          "'broadening import --merge' upserts the tables it does hold without emptying the others")
    tables, sources = read_table_dir(d, kinds=("parquet",))
    doc = doc or {}
    if doc.get("format") == FORMAT:
        counts = doc.get("tables")
        meta = doc.get("meta", {})
        if not isinstance(counts, dict) or not isinstance(meta, dict):
            raise ExportError(f"{d / MANIFEST}: expected 'tables' and 'meta' objects")
    else:  # an export written before manifests had row counts: its meta dict is the whole file
        counts, meta = None, dict(doc)
    if complete:
        missing = [n for n in TABLE_ORDER if n not in tables]
        if missing:
            raise ExportError(f"{d}: incomplete export, missing {', '.join(f'{n}.parquet' for n in missing)}: "
                              "nothing was imported (use --merge to upsert only the tables present)")
    for n, want in (counts or {}).items():
        if n in tables and want != len(tables[n]):
            raise DataValidationError(sources[n], None, f"{want:,} rows as recorded in {MANIFEST} (a truncated file?)",
                                      got=[f"{len(tables[n]):,} rows"])
    meta = dict(meta)
    synthetic = bool(meta.pop("synthetic", False))
    return ExportContents(tables, sources, meta, synthetic)


def refuse_emptying(contents: ExportContents, stored: dict[str, int], allow_empty: bool) -> None:
    """Raise unless ``allow_empty`` when a replacing import would empty a table that holds rows."""
    if allow_empty:
        return
    emptied = [n for n in TABLE_ORDER if stored.get(n, 0) > 0 and len(contents.tables.get(n, ())) == 0]
    if emptied:
        n = emptied[0]
        raise ExportError(
            f"{contents.sources.get(n, n)}: the export's '{n}' table is empty and would replace the "
            f"{stored[n]:,} rows stored (also: {', '.join(emptied[1:]) or 'no other table'}); "
            "pass --allow-empty to replace them with nothing"
        )
