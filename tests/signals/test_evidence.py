"""signals.evidence: how a number reads in a verdict's evidence sentence."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from broadening.config import load_config
from broadening.signals.evidence import ClaimView, c6, fmt


def test_numbers_in_evidence_sentences():
    assert fmt(0.01234, pct=True) == "+1.2%" and fmt(-0.5, pct=True) == "-50.0%"
    assert fmt(1234.5678) == "1.23e+03" and fmt(0.8766) == "0.877"
    # an unknown value is said to be unknown, never "nan%" or "inf"
    assert fmt(np.nan) == "n/a" and fmt(np.inf, pct=True) == "n/a"


def _c6_view(spread: float, change: float) -> ClaimView:
    frame = pd.DataFrame({"private_credit_growth": [0.12], "bank_loan_growth": [0.034],
                          "credit_spread": [spread], "credit_spread_change": [change]})
    market = SimpleNamespace(series_table=pd.DataFrame({"series_id": ["BAA10Y"], "value": [1.0]}))
    return ClaimView(market=market, cfg=load_config(), frame=frame, t=0, value=0.086, percentile=0.5, th={})


def test_c6_sentence_reads_the_spread_and_says_unknown_when_it_is():
    w = load_config().signals.trend_window
    assert c6(_c6_view(1.8349, -0.215)) == (
        f"private credit +12.0% vs banks +3.4% y/y; BAA-10y spread 1.83% (-0.21 over {w}d)")
    # no spread known on that date: "n/a" (it used to print "nan%")
    assert c6(_c6_view(np.nan, np.nan)) == f"private credit +12.0% vs banks +3.4% y/y; BAA-10y spread n/a (n/a over {w}d)"
