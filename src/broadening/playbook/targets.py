"""The playbook's target weights for one date and a given current book (what ``rebalance`` trades to).

:func:`playbook_targets` runs the same algo stack as :func:`~broadening.playbook.suite.run_backtests`
on a single rebalance date, point-in-time (the market cut at that date), starting from the
book the user holds: the turnover budget limits the move from that book, every other
constraint applies to the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.errors import BroadeningError
from broadening.playbook.config import PlaybookConfig, load_playbook_config
from broadening.playbook.strategies import playbook

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market
    from broadening.playbook.algos import BasketFn


def playbook_targets(
    market: Market,
    cfg: PlaybookConfig | str | Path | None = None,
    date: str | pd.Timestamp | None = None,
    *,
    regime_score: pd.Series | None = None,
    current_weights: pd.Series | Mapping[str, float] | None = None,
    baskets: Mapping[str, BasketFn] | None = None,
    basket_config: Config | None = None,
) -> tuple[pd.Series, pd.Series]:
    """The playbook's target weights on one date, starting from a current book.

    Parameters
    ----------
    market : Market
    cfg : PlaybookConfig, path or None
        The playbook configuration (None = the shipped defaults).
    date : date, optional
        Rebalance as of the last trading date on or before it (default: the last date).
        Nothing after that date is read.
    regime_score : Series, optional
        Diffusion score in [0, 1] by date; its value on or before the date scales the trim.
    current_weights : Series or mapping of security_id to weight, optional
        The book held now, as fractions of its value (the rest is cash). With a turnover
        budget the target moves only that far from this book; without a current book the
        target is built from cash (no turnover budget applies).
    baskets, basket_config
        As for :func:`~broadening.playbook.suite.run_backtests`.

    Returns
    -------
    weights : Series
        Target weight per ``security_id`` (names with a positive weight, largest first).
    sleeves : Series
        Per ``security_id`` of ``weights``, the sleeve holding most of the name
        (``current_book`` for weight still held from the current book).

    Raises
    ------
    BroadeningError
        For a date before the data, or a current book naming a security the market does not
        know or weighing more than 1 in total or less than 0 anywhere.
    """
    conf = cfg if isinstance(cfg, PlaybookConfig) else load_playbook_config(cfg)
    view = market if date is None else market.until(date)
    t = len(view.dates) - 1
    initial = None
    if current_weights is not None:
        cur = pd.Series(current_weights, dtype="float64")
        known = pd.Index(view.ids_at(t).astype(str))  # the security in each column on the date
        unknown = [str(i) for i in cur.index if str(i) not in known]
        if unknown:
            raise BroadeningError(f"current book: {len(unknown)} security id(s) not in the market on "
                                  f"{pd.Timestamp(view.dates[t]).date()}, e.g. {', '.join(unknown[:5])}")
        if (cur < 0).any() or not np.isfinite(cur.to_numpy()).all():
            raise BroadeningError("current book: weights must be finite and >= 0 (long only)")
        if cur.sum() > 1.0 + 1e-9:
            raise BroadeningError(f"current book: weights sum to {cur.sum():.6f} > 1 (no leverage)")
        initial = np.zeros(len(view.ids))
        initial[known.get_indexer([str(i) for i in cur.index])] = cur.to_numpy()
    stack = playbook(conf, baskets=baskets, basket_config=basket_config)
    tw = stack.run(view, np.array([t]), regime_score, initial=initial)
    w = tw.weights[0]
    names = list(tw.sleeves)
    split = np.stack([tw.sleeves[k][0] for k in names]) if names else np.zeros((1, len(w)))
    held = np.flatnonzero(w > 0)
    held = held[np.argsort(-w[held], kind="stable")]
    ids = pd.Index(view.ids_at(t)[held].astype(str), name="security_id")
    weights = pd.Series(w[held], index=ids, name="weight")
    sleeves = pd.Series([names[int(np.argmax(split[:, i]))] for i in held], index=ids, name="sleeve", dtype=object)
    return weights, sleeves
