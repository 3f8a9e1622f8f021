"""What changed: the scorecard and the regime as of one date against an earlier one.

:func:`what_changed` compares two :class:`~broadening.signals.scorecard.Scorecard` s claim by
claim: a verdict that changed, or a headline whose percentile in its own history moved by at
least ``big_move`` (25 percentile points by default), is a change; so is a new regime label.
``broadening monitor --since`` and the report's "What changed" section print it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from broadening.signals.scorecard import Scorecard

__all__ = ["Changes", "what_changed", "BIG_MOVE"]

#: Percentile move (in [0, 1]) that counts as big without a verdict change.
BIG_MOVE = 0.25


def _num(v: object) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if np.isfinite(f) else None


@dataclass
class Changes:
    """The difference between a scorecard and an earlier one.

    Attributes
    ----------
    since, asof : Timestamp
        The earlier and the later date.
    claims : list of dict
        One entry per claim whose verdict changed or whose percentile moved by at least
        ``big_move``: ``claim``, ``from``, ``to`` (verdicts), ``verdict_changed``,
        ``percentile_from``, ``percentile_to``, ``percentile_change``, ``value_from``,
        ``value_to`` (numbers or None when unknown).
    regime_change : dict or None
        ``{"from", "to"}`` when the regime label differs, else None.
    score_from, score_to : float or None
        The diffusion score on both dates.
    big_move : float
        The percentile move that counted as big.
    """

    since: pd.Timestamp
    asof: pd.Timestamp
    claims: list[dict]
    regime_change: dict[str, str] | None
    score_from: float | None
    score_to: float | None
    big_move: float = BIG_MOVE

    @property
    def verdicts_changed(self) -> list[str]:
        """Ids of the claims whose verdict changed."""
        return [c["claim"] for c in self.claims if c["verdict_changed"]]

    @property
    def any(self) -> bool:
        """Whether a verdict or the regime changed (what ``--fail-on-change`` checks)."""
        return bool(self.verdicts_changed) or self.regime_change is not None

    def to_dict(self) -> dict:
        """The JSON shape: ``since``, ``changes`` (list), ``regime_change``, the two scores."""
        return {
            "since": self.since.date().isoformat(),
            "changes": self.claims,
            "regime_change": self.regime_change,
            "diffusion_score_from": self.score_from,
            "diffusion_score_to": self.score_to,
            "big_move": self.big_move,
        }


def what_changed(before: Scorecard, after: Scorecard, *, big_move: float = BIG_MOVE) -> Changes:
    """Compare ``after`` with the earlier ``before``.

    Parameters
    ----------
    before, after : Scorecard
        Scorecards of the same claims as of an earlier and a later date.
    big_move : float, default 0.25
        A percentile move at least this large (in [0, 1]) is a change even when the
        verdict holds.

    Returns
    -------
    Changes
    """
    if before.asof > after.asof:
        raise ValueError(f"'before' ({before.asof.date()}) is later than 'after' ({after.asof.date()})")
    old = before.table.set_index("id")
    rows = []
    for r in after.table.itertuples(index=False):
        if r.id not in old.index:
            continue
        o = old.loc[r.id]
        p0, p1 = _num(o["percentile"]), _num(r.percentile)
        move = None if p0 is None or p1 is None else p1 - p0
        changed = o["verdict"] != r.verdict
        if changed or (move is not None and abs(move) >= big_move - 1e-12):
            rows.append({
                "claim": r.id, "from": o["verdict"], "to": r.verdict, "verdict_changed": bool(changed),
                "percentile_from": p0, "percentile_to": p1, "percentile_change": move,
                "value_from": _num(o["value"]), "value_to": _num(r.value),
            })
    regime_change = None if before.regime == after.regime else {"from": before.regime, "to": after.regime}
    return Changes(since=before.asof, asof=after.asof, claims=rows, regime_change=regime_change,
                   score_from=_num(before.diffusion_score), score_to=_num(after.diffusion_score), big_move=big_move)
