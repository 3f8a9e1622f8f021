"""Trim the top-k and redeploy the freed weight into sleeves ("trim the tax").

Each works on every rebalance row at once (see :mod:`broadening.playbook.context`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from broadening.errors import BroadeningError
from broadening.playbook.context import CAP_SLEEVE, CORE_SLEEVE, Algo, BasketFn, Context


def regime_intensity(score: float | np.ndarray, scaling: bool, floor: float) -> float | np.ndarray:
    """How hard to trim: ``floor + (1 - floor) * score`` when scaling by regime, else 1.

    A diffusion score of 1 trims fully, a score of 0 trims ``floor`` of it; an unknown
    score (NaN) trims fully. Works on a scalar or an array of scores.
    """
    s = np.asarray(score, dtype="float64")
    if not scaling:
        out = np.ones_like(s)
    else:
        out = np.where(np.isfinite(s), floor + (1.0 - floor) * np.clip(np.nan_to_num(s), 0.0, 1.0), 1.0)
    return float(out) if out.ndim == 0 else out


def concentration_factor(topk_share: np.ndarray, ref: float, lo: float = 1.0, hi: float = 1.5) -> np.ndarray:
    """How much harder to trim when the top-k hold more: ``clip(share / ref, lo, hi)``; 1 when ``ref`` is 0."""
    if ref <= 0:
        return np.ones_like(topk_share)
    return np.clip(topk_share / ref, lo, hi)


class TrimTopK(Algo):
    """Trim the ``k`` largest names of the cap sleeve.

    ``mode="cut"``: their total is cut by the share ``cut`` (each name proportionally),
    scaled by :func:`concentration_factor` of their total weight against
    ``concentration_ref`` (0 = no scaling); ``mode="cap"``: each top-k name is cut to at
    most ``cap``. With ``regime_scaling`` the amount removed is multiplied by
    :func:`regime_intensity` of the date's diffusion score. The removed weight never
    exceeds a name's weight.

    Reads the cap sleeve, ``data.regime``; sets the cap sleeve, ``ctx.freed`` (weight
    released per row) and ``ctx.trimmed`` (the names trimmed).
    """

    def __init__(self, k: int = 10, mode: str = "cut", cap: float = 0.04, cut: float = 0.25,
                 regime_scaling: bool = False, regime_floor: float = 0.5,
                 concentration_ref: float = 0.0,  # pragma: no mutate (any ref >= 1 also never scales: a top-k share is at most 1)
                 concentration_max: float = 1.5) -> None:
        if mode not in ("cap", "cut"):
            raise ValueError(f"mode must be 'cap' or 'cut', got {mode!r}")
        self.k, self.mode, self.cap, self.cut = k, mode, cap, cut
        self.regime_scaling, self.regime_floor = regime_scaling, regime_floor
        self.concentration_ref, self.concentration_max = concentration_ref, concentration_max

    def __call__(self, ctx: Context) -> None:
        key = ctx.key(CAP_SLEEVE)
        if key not in ctx.sleeves or (ctx.split and len(ctx.sleeves) != 1):
            raise BroadeningError("TrimTopK needs a cap-weighted sleeve first (WeighByCap)")
        w = ctx.sleeves[key]
        R, N = w.shape
        k = min(self.k, N)
        if ctx.cap_ranked:
            top = ctx.data.cap_order()[:, :k]
        else:
            top = np.argsort(-w,
                             axis=1, kind="stable",  # pragma: no mutate (numpy sorts the last axis by default and reads the kind case-insensitively)
                             )[:, :k]
        wt = np.take_along_axis(w, top,
                                axis=1,  # pragma: no mutate (numpy's default axis is the last: the same one here)
                                )
        held = wt > 0
        s = regime_intensity(ctx.regime, self.regime_scaling, self.regime_floor)
        if self.mode == "cap":
            rem = np.maximum(wt - self.cap, 0.0) * np.asarray(s)[:, None]
        else:
            share = wt.sum(axis=1)
            cut = np.minimum(self.cut * concentration_factor(share, self.concentration_ref, 1.0, self.concentration_max), 1.0)
            rem = wt * (cut * s)[:, None]
        rem = np.where(held, np.minimum(rem, wt), 0.0)
        removed = np.zeros((R, N))
        np.put_along_axis(removed, top, rem, axis=1)
        ctx.sleeves[key] = w - removed
        ctx.cap_ranked = False
        ctx.freed = ctx.freed + removed.sum(axis=1)
        np.put_along_axis(ctx.trimmed, top, held, axis=1)


class Redeploy(Algo):
    """Spread the freed weight over sleeves with fixed shares.

    The ``equal_weight_core`` sleeve equally weights the selected index members; every
    other sleeve equally weights its eligible names on the date (the basket, with a price
    that day), excluding the trimmed top-k. **Empty-sleeve rule:** a sleeve with no
    eligible name on a date (or whose basket cannot be computed on this data) hands its
    share to the equal-weight core, and is marked in ``ctx.empty``.

    Reads ``ctx.freed``, ``ctx.selected``, ``ctx.trimmed``; sets the sleeves,
    ``ctx.freed = 0``, ``ctx.empty``.

    Parameters
    ----------
    shares : mapping of sleeve name to share (summing to one)
    baskets : mapping of sleeve name to ``fn(market) -> bool (T, N)``
        Eligibility of each non-core sleeve (prepared with the data, see
        :meth:`~broadening.playbook.context.RebalanceData.basket`).
    """

    def __init__(self, shares: Mapping[str, float], baskets: Mapping[str, BasketFn]) -> None:
        self.shares = dict(shares)
        self.baskets = dict(baskets)

    def __call__(self, ctx: Context) -> None:
        freed = ctx.freed
        R, N = ctx.shape
        excluded = ctx.trimmed
        core_share = np.full(R, self.shares.get(CORE_SLEEVE, 0.0))
        for name, share in self.shares.items():
            if name == CORE_SLEEVE or share == 0:
                continue
            mask, why = ctx.data.basket(name, self.baskets.get(name))
            if mask is None:
                ctx.empty[name] = np.ones(R, dtype=bool)
                ctx.note(f"sleeve '{name}' unavailable ({why or 'no data'}); its share went to the core")
                core_share = core_share + share
                continue
            eligible = mask & ~excluded
            n = eligible.sum(axis=1)
            none = n == 0
            ctx.empty[name] = none
            core_share = core_share + np.where(none, share, 0.0)
            if not none.all():
                ctx.add(name, eligible * (freed * share / np.maximum(n, 1))[:, None])
        sel = ctx.selected
        core = sel & ~excluded
        bare = ~core.any(axis=1)
        if bare.any():
            core[bare] = sel[bare]
        nc = core.sum(axis=1)
        give = (core_share > 0) & (nc > 0)
        if give.any():
            ctx.add(CORE_SLEEVE, core * np.where(give, freed * core_share / np.maximum(nc, 1), 0.0)[:, None])
        back = (core_share > 0) & (nc == 0) & (freed > 0)
        if back.any():
            # nothing to hold: the freed weight stays with the cap sleeve names
            ctx.note("no index members to redeploy into; freed weight returned pro rata")
            cap = ctx.sleeves[ctx.key(CAP_SLEEVE)]
            cs = cap.sum(axis=1)
            ok = back & (cs > 0)
            add = np.zeros((R, N))
            add[ok] = cap[ok] / cs[ok][:, None] * (freed[ok] * core_share[ok])[:, None]
            ctx.add(CAP_SLEEVE, add)
        ctx.freed = np.zeros(R)
