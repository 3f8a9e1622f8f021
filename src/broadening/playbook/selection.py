"""Selection and weighting algos: who is in, and the starting weights.

Each works on every rebalance row at once (see :mod:`broadening.playbook.context`).
"""

from __future__ import annotations

import numpy as np

from broadening.baskets import topk_mask
from broadening.playbook.context import CAP_SLEEVE, Algo, Context


class SelectMembers(Algo):
    """Select the index members on each rebalance date.

    Reads ``data.members``; sets ``ctx.selected``. Without any stored membership for the
    index (prices-only data), every security with a price that day is selected, and a
    note says so.
    """

    def __init__(self, index_id: str) -> None:
        self.index_id = index_id

    def __call__(self, ctx: Context) -> None:
        data = ctx.data
        if data.index_id != self.index_id:
            raise ValueError(f"SelectMembers('{self.index_id}') on data prepared for index '{data.index_id}'")
        if not data.has_index:
            ctx.note(f"no membership stored for index '{self.index_id}': all listed securities used")
        ctx.selected = data.members  # shared, never written in place (algos build new masks)


class SelectMomentum(Algo):
    """Keep the top ``quantile`` of the selection by 12-1 month momentum.

    Momentum on ``t`` = ``TRI[t - skip] / TRI[t - lookback] - 1`` (nothing after ``t``).
    Reads ``ctx.selected`` and the lagged total-return index; sets ``ctx.selected``. Names
    without both prices are dropped; on dates before ``lookback`` days of history exist
    the selection is kept whole (noted).
    """

    def __init__(self, lookback: int = 252, skip: int = 21, quantile: float = 0.2) -> None:
        self.lookback, self.skip, self.quantile = lookback, skip, quantile

    def __call__(self, ctx: Context) -> None:
        data = ctx.data
        short = data.positions < self.lookback
        if short.any():
            ctx.note("momentum: less than a lookback of history; whole selection kept")
        with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (silences warnings only)
            mom = data.lagged_tri(self.skip) / data.lagged_tri(self.lookback) - 1.0
        ok = ctx.selected & np.isfinite(mom)
        n = ok.sum(axis=1)
        k = np.where(n > 0, np.maximum(1, np.ceil(self.quantile * n)), 0).astype(np.int64)
        # rank by decreasing momentum, ties by position (stable); names not ok rank last
        order = np.argsort(np.where(ok, -mom, np.inf), axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(order.shape[1])[None, :], axis=1)
        keep = ok & (rank < k[:, None])
        ctx.selected = np.where(short[:, None], ctx.selected, keep)


class DropTopK(Algo):
    """Drop the ``k`` largest names by market cap from the selection (the index "ex top-k").

    The top-k are picked as :func:`~broadening.baskets.megacaps` picks them: the ``k``
    largest finite caps among the selection, every name tied with the k-th included (so the
    result never depends on column order); on a date with fewer than ``k`` such names, all
    of them. Reads ``ctx.selected`` and the market caps; sets ``ctx.selected``.
    """

    def __init__(self, k: int = 10) -> None:
        if int(k) < 1:
            raise ValueError(f"k must be at least 1, got {k!r}")
        self.k = int(k)

    def __call__(self, ctx: Context) -> None:
        ctx.selected = ctx.selected & ~topk_mask(ctx.data.cap, ctx.selected, self.k)


class WeighByCap(Algo):
    """Cap-weight the selection into one sleeve.

    Reads ``ctx.selected`` and the market caps; sets ``ctx.sleeves`` to the one sleeve
    ``sleeve``. Names without a market cap get none; on a date where no selected name has
    one, the selection is equally weighted (noted).
    """

    def __init__(self, sleeve: str = CAP_SLEEVE) -> None:
        self.sleeve = sleeve

    def __call__(self, ctx: Context) -> None:
        data = ctx.data
        sel = ctx.selected
        if sel is data.members:
            w, eq = data.cap_weights()
            ctx.cap_ranked = self.sleeve == CAP_SLEEVE
        else:
            cap = data.cap
            w = np.where(sel & np.isfinite(cap) & (cap > 0), cap, 0.0)
            tot = w.sum(axis=1)
            w = np.divide(w, tot[:, None], out=np.zeros_like(w), where=tot[:, None] > 0)
            eq = (tot <= 0) & sel.any(axis=1)
            if eq.any():
                w[eq] = sel[eq] / sel[eq].sum(axis=1)[:, None]
        if eq.any():
            ctx.note("no market caps on a rebalance date: equal weight used instead")
        ctx.sleeves = {}
        ctx.add(self.sleeve, w)


class WeighEqually(Algo):
    """Equally weight the selection into one sleeve.

    Reads ``ctx.selected``; sets ``ctx.sleeves`` to the one sleeve ``sleeve``.
    """

    def __init__(self, sleeve: str = "equal_weight") -> None:
        self.sleeve = sleeve

    def __call__(self, ctx: Context) -> None:
        n = ctx.selected.sum(axis=1)
        ctx.sleeves = {}
        ctx.add(self.sleeve, ctx.selected / np.maximum(n, 1)[:, None])
