"""Schema checks that are easiest to see on their own: the fast key-uniqueness test."""

from __future__ import annotations

import pandas as pd
import pytest

from broadening import schema
from broadening.errors import DataValidationError


def _prices(keys):
    return pd.DataFrame({
        "security_id": [k[0] for k in keys], "date": [k[1] for k in keys],
        "close": 10.0, "total_return_index": 10.0, "volume": 1.0,
    })


def test_fast_key_check_sees_unique_and_duplicate_keys():
    spec = schema.TABLES["prices"]
    keys = [("A", "2024-01-02"), ("A", "2024-01-03"), ("B", "2024-01-02"), ("B", "2021-05-06")]
    ok = schema.validate_table("prices", _prices(keys))
    assert schema._fast_key_unique(spec, ok) is True
    # the same (id, day) twice, far apart in the table: the bitmap must catch it
    dup = pd.concat([ok, ok.iloc[[2]]], ignore_index=True)
    assert schema._fast_key_unique(spec, dup) is False


def test_duplicate_price_key_is_one_clear_error_naming_the_rows():
    keys = [("A", "2024-01-02"), ("B", "2024-01-02"), ("A", "2024-01-02")]
    with pytest.raises(DataValidationError) as err:
        schema.validate_table("prices", _prices(keys), source="prices.csv")
    msg = str(err.value)
    assert msg.startswith("prices.csv, rows 2, 4:") and "unique (security_id, date)" in msg
