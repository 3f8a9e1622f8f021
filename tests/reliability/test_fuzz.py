"""Fuzzing the readers and the configuration loaders with hypothesis.

The contract under test: whatever the bytes, a table file read and validated either gives
a canonical table whose every value is in range, or raises a BroadeningError (one clear
message); a TOML file gives a valid configuration or a ConfigError/LimitError. Anything
else (a pandas, pyarrow or tomllib exception escaping) is a bug.

Bounded time: 60 examples per property by default, 25 when ``$CI`` is set
(``$BROADENING_FUZZ_EXAMPLES`` overrides both); the whole module runs in a few seconds.
"""

from __future__ import annotations

import gzip
import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from broadening.config import load_config
from broadening.errors import BroadeningError, ConfigError, LimitError
from broadening.playbook.config import load_playbook_config
from broadening.providers.files import read_table_file
from broadening.schema import EARLIEST_DATE, PLAUSIBLE, TABLES, latest_date, validate_table
from broadening.sweep.grid import load_grid

EXAMPLES = int(os.environ.get("BROADENING_FUZZ_EXAMPLES") or (25 if os.environ.get("CI") else 60))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# -- table files ---------------------------------------------------------------------------------
HOSTILE_TEXT = ["", " ", "nan", "NaN", "inf", "-inf", "1e308", "1e-320", "-1", "0", "1e400", "[/x]", "</script>",
                "2024-02-30", "1600-01-01", "2300-01-01", "2024-01-02T00:00:00+05:00", "20240102", "2024/01/02",
                "true", "yes", "adopter", "\u2028", "A", "B", "\x00", "é", "\"", ",", "\n"]
cell = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.dates(min_value=pd.Timestamp("1890-01-01").date(), max_value=pd.Timestamp("2040-01-01").date()).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**20, 10**20).map(str),
    st.text(max_size=12),
)


def _csv_cell(v: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\n\r') else v


GOOD_TEXT = {
    "str": st.sampled_from(["A", "B", "C", "sp500", "adopter", "none"]),
    "float": st.floats(0.01, 1000.0).map(lambda x: f"{x:.4g}"),
    "date": st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()).map(str),
    "bool": st.sampled_from(["true", "false", "1", "0", ""]),
}


def column_cells(kind: str):
    """Mostly plausible values of the column's kind, often hostile ones (so rows get past the header)."""
    return st.one_of(*[GOOD_TEXT[kind]] * 12, cell)


@st.composite
def csv_files(draw):
    table = draw(st.sampled_from(sorted(TABLES)))
    spec = TABLES[table]
    header = [c.name for c in spec.columns if c.required or draw(st.booleans())]
    header = draw(st.permutations(header))
    if draw(st.integers(0, 9)) == 0:  # now and then a duplicate, a stray or a missing column
        header = header + [draw(st.sampled_from(spec.column_names + ["adj_close", "extra"]))]
    if draw(st.integers(0, 9)) == 0 and len(header) > 1:
        header = header[1:]
    kinds = [spec.column(h).kind if h in spec.column_names else "float" for h in header]
    rows = draw(st.lists(st.tuples(*(column_cells(k) for k in kinds)), min_size=draw(st.sampled_from([0, 1, 1, 1])),
                         max_size=6))
    text = "\n".join(",".join(_csv_cell(v) for v in r) for r in [header, *rows]) + "\n"
    data = text.encode("utf-8", errors="surrogatepass")
    how = draw(st.sampled_from(["plain", "plain", "plain", "gzip", "truncated-gzip", "latin-1", "bom"]))
    if how == "gzip":
        return table, ".csv.gz", gzip.compress(data)
    if how == "truncated-gzip":
        blob = gzip.compress(data)
        return table, ".csv.gz", blob[: draw(st.integers(0, len(blob) - 1))]
    if how == "latin-1":
        return table, ".csv", text.encode("latin-1", errors="replace")
    return table, ".csv", (b"\xef\xbb\xbf" if how == "bom" else b"") + data


def check_canonical(name: str, df: pd.DataFrame) -> None:
    """What a successful validation promises about every value."""
    spec = TABLES[name]
    assert list(df.columns) == spec.column_names
    lo, hi = EARLIEST_DATE, latest_date()
    for col in spec.columns:
        s = df[col.name]
        if not col.nullable:
            assert not s.isna().any(), col.name
        if col.kind == "date":
            ok = s.dropna()
            assert ((ok >= lo) & (ok <= hi)).all(), col.name
        elif col.kind == "float":
            v = s.dropna().to_numpy(dtype=float)
            assert np.isfinite(v).all(), col.name
            if (name, col.name) in PLAUSIBLE:
                a, b = PLAUSIBLE[name, col.name]
                assert ((v >= a) & (v <= b)).all(), col.name
    assert not df.duplicated(list(spec.key)).any()


def read_and_validate(path, name: str) -> pd.DataFrame | None:
    try:
        df = validate_table(name, read_table_file(path), source=str(path))
    except BroadeningError as exc:
        msg = str(exc)
        assert "\n" not in msg.strip() and len(msg) < 2000, msg
        event(f"refused: {msg.split(': expected ')[-1][:30]}")
        return None
    check_canonical(name, df)
    event(f"accepted ({'empty' if df.empty else 'rows'})")
    return df


@FUZZ
@given(csv_files())
def test_fuzz_csv_reader_gives_a_canonical_table_or_one_clear_error(tmp_path_factory, f):
    table, suffix, data = f
    path = tmp_path_factory.mktemp("fz") / f"{table}{suffix}"
    path.write_bytes(data)
    read_and_validate(path, table)


def column_values(kind: str):
    """Three values of one Parquet column: mostly the column's own type, sometimes any other."""
    n = 3
    typed = {
        "str": st.lists(GOOD_TEXT["str"], min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=object)),
        "float": st.lists(st.floats(0.01, 1000.0), min_size=n, max_size=n).map(pd.Series),
        "date": st.lists(st.dates(min_value=pd.Timestamp("2000-01-01").date(), max_value=pd.Timestamp("2024-12-31").date()),
                         min_size=n, max_size=n).map(lambda v: pd.Series(pd.to_datetime(v))),
        "bool": st.lists(st.booleans(), min_size=n, max_size=n).map(pd.Series),
    }[kind]
    hostile = st.one_of(
        st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="int64")),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n).map(pd.Series),
        st.lists(st.sampled_from(HOSTILE_TEXT), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=object)),
        st.lists(st.datetimes(min_value=pd.Timestamp("1700-01-01").to_pydatetime(),
                              max_value=pd.Timestamp("2250-01-01").to_pydatetime()), min_size=n, max_size=n)
        .map(lambda v: pd.Series(pd.array(v, dtype="datetime64[us]"))),
        st.lists(st.booleans(), min_size=n, max_size=n).map(pd.Series),
        st.just(pd.Series(pd.date_range("2024-01-02", periods=n, tz="Europe/Paris"))),
    )
    return st.one_of(typed, typed, hostile)


@FUZZ
@given(st.sampled_from(sorted(TABLES)), st.data())
def test_fuzz_parquet_reader_gives_a_canonical_table_or_one_clear_error(tmp_path_factory, table, data):
    spec = TABLES[table]
    chosen = [c for c in spec.columns if c.required or data.draw(st.booleans())]
    frame = pd.DataFrame({c.name: data.draw(column_values(c.kind)).reset_index(drop=True) for c in chosen})
    path = tmp_path_factory.mktemp("fz") / f"{table}.parquet"
    frame.to_parquet(path)
    read_and_validate(path, table)


# -- TOML configurations -------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def to_toml(doc: dict) -> str:
    lines = []

    def section(prefix: str, d: dict) -> None:
        simple = {k: v for k, v in d.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        lines.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in simple.items())
        for k, v in d.items():
            if isinstance(v, dict):
                section(f"{prefix}.{json.dumps(k)}" if prefix else json.dumps(k), v)

    section("", doc)
    return "\n".join(lines) + "\n"


scalar = st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from(["", "[/x]", "sp500", "monthly", "cap", "cut", "daily", "large", "nan"]),
                   st.text(max_size=8))
value = st.one_of(scalar, st.lists(scalar, max_size=4))


def documents(known: dict[str, list[str]]):
    """Documents over the real section and key names (so the values get checked), plus some strangers."""
    sections = sorted(known) + ["bogus"]
    return st.dictionaries(
        st.sampled_from(sections),
        st.one_of(scalar, st.dictionaries(st.one_of(*(st.sampled_from(v) for v in known.values()), st.text(max_size=5)),
                                          value, max_size=4)),
        max_size=4,
    )


CLASSIFICATION_KEYS = {s: list(v) for s, v in load_config().raw.items() if isinstance(v, dict)}
PLAYBOOK_KEYS = {"portfolio": ["index", "schedule"], "costs": ["bps", "spread_bps", "spread_ref_cap", "max_spread_bps",
                 "cash_rate"], "trim": ["top_k", "mode", "cap", "cut", "regime_scaling", "regime_floor"],
                 "sleeves": ["equal_weight_core", "bdcs"], "constraints": ["max_weight", "turnover_budget", "te_lookback"],
                 "momentum": ["lookback", "skip", "quantile"], "metrics": ["risk_free"]}
GRID_KEYS = {"sweep": ["costs", "playbook"], "grid": ["top_k", "cap", "schedule", "regime_scaling", "sleeves"],
             "walk_forward": ["train_years", "test_years", "step_years", "anchored", "start"]}


@pytest.mark.parametrize("loader, known", [(load_config, CLASSIFICATION_KEYS), (load_playbook_config, PLAYBOOK_KEYS),
                                           (load_grid, GRID_KEYS)], ids=["classification", "playbook", "grid"])
@FUZZ
@given(data=st.data())
def test_fuzz_toml_configs_load_or_raise_config_error(tmp_path_factory, loader, known, data):
    doc = data.draw(documents(known))
    path = tmp_path_factory.mktemp("fz") / "c.toml"
    raw = to_toml(doc).encode("utf-8", errors="surrogatepass")
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))] + data.draw(st.binary(max_size=6))
    path.write_bytes(raw)
    try:
        loader(path)
    except (ConfigError, LimitError) as exc:
        assert str(path) in str(exc) or "c.toml" in str(exc), str(exc)
