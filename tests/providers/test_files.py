"""providers.files: a user's directory of table files, and the size limit of one file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from broadening.errors import BroadeningError, DataValidationError, LimitError
from broadening.providers.files import read_table_dir, read_table_file

from ..good_csv import GOOD, write_dir


def test_one_table_in_two_files_is_refused_naming_both(tmp_path):
    d = write_dir(tmp_path / "in", GOOD)
    pd.read_csv(d / "prices.csv").to_parquet(d / "prices.parquet")
    with pytest.raises(DataValidationError) as err:
        read_table_dir(d, kinds=("csv", "parquet"))
    assert str(err.value) == f"{d}: expected one file for table 'prices'; got 'prices.csv', 'prices.parquet'"


@pytest.mark.parametrize("value", ["0", "-5", "nan"])
def test_the_size_limit_must_be_positive(tmp_path, monkeypatch, value):
    d = write_dir(tmp_path / "in", {"series.csv": GOOD["series.csv"]})
    monkeypatch.setenv("BROADENING_MAX_TABLE_MB", value)
    with pytest.raises(BroadeningError, match=rf"^\$BROADENING_MAX_TABLE_MB: expected a positive number of megabytes, got '?{value}'?$"):
        read_table_file(d / "series.csv")


def test_a_parquet_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    p = tmp_path / "prices.parquet"
    rng = np.random.default_rng(0)
    pd.DataFrame({"security_id": "A", "date": "2024-01-02", "close": rng.random(300_000)}).to_parquet(p)  # 3 MB in memory
    monkeypatch.setenv("BROADENING_MAX_TABLE_MB", "1")
    with pytest.raises(LimitError, match=r"prices.parquet: 2.5 MB uncompressed is more than the 1 MB limit for one table "
                                         r"file \(\$BROADENING_MAX_TABLE_MB raises it\)"):
        read_table_file(p)


def test_a_limit_under_one_megabyte_is_printed_as_it_is_set(tmp_path, monkeypatch):
    p = tmp_path / "prices.csv"
    p.write_text("security_id,date,close\n" + "A,2024-01-02,1.0\n" * 40_000)  # 680,023 bytes = 0.65 MB
    monkeypatch.setenv("BROADENING_MAX_TABLE_MB", "0.5")
    with pytest.raises(LimitError, match=r"prices.csv: 0.65 MB is more than the 0.5 MB limit for one table file"):
        read_table_file(p)
