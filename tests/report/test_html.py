"""report.html: where the page may be written, and what the embedded chart JSON holds."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from broadening.report.html import ReportPathError, script_json, write_page


def test_write_page_creates_missing_folders(tmp_path):
    out = tmp_path / "reports" / "2024" / "r.html"
    assert write_page(out, "<html>ok</html>") == out
    assert out.read_text() == "<html>ok</html>"
    assert [p.name for p in out.parent.iterdir()] == ["r.html"]  # no temporary file left beside it


def test_write_page_under_a_file_is_refused_before_writing(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    with pytest.raises(ReportPathError) as err:
        write_page(notes / "sub" / "r.html", "<html></html>")
    assert str(err.value) == f"{notes / 'sub' / 'r.html'}: {notes} is a file, not a directory"
    assert notes.read_text() == "keep me"


def test_script_json_writes_numpy_values_and_dates_as_plain_json():
    # Plotly figures carry numpy arrays and scalars, and axis values may be Timestamps
    text = script_json({"y": np.array([1.5, 2.0]), "n": np.int64(3), "ok": np.bool_(True),
                        "x": pd.Timestamp("2024-01-31")})
    assert json.loads(text) == {"y": [1.5, 2.0], "n": 3, "ok": True, "x": "2024-01-31 00:00:00"}
