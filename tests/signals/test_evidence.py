"""signals.evidence: how a number reads in a verdict's evidence sentence."""

from __future__ import annotations

import numpy as np

from broadening.signals.evidence import fmt


def test_numbers_in_evidence_sentences():
    assert fmt(0.01234, pct=True) == "+1.2%" and fmt(-0.5, pct=True) == "-50.0%"
    assert fmt(1234.5678) == "1.23e+03" and fmt(0.8766) == "0.877"
    # an unknown value is said to be unknown, never "nan%" or "inf"
    assert fmt(np.nan) == "n/a" and fmt(np.inf, pct=True) == "n/a"
