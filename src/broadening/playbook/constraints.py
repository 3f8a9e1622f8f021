"""Constraints: max weight per name, sector bounds, and the turnover budget.

The helpers (:func:`cap_weights`, :func:`cap_rows`, :func:`sector_fit`) work on plain
arrays; the algos apply them to every rebalance row of a context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from broadening.playbook.context import CORE_SLEEVE, HELD_SLEEVE, Algo, Context


def cap_rows(w: np.ndarray, limit: float, max_iter: int = 200) -> np.ndarray:  # pragma: no mutate (a cap on passes; water-filling converges long before)
    """Cap every weight of every row of ``w`` (R, N) at ``limit``, handing the excess pro rata
    to the names of the row under it.

    Keeps a row's total when possible (``limit * names >= total``); otherwise every held
    name ends at ``limit`` and the remainder is cash.
    """
    w = np.array(w, dtype="float64", copy=True)
    for _ in range(max_iter):
        over = w > limit * (1 + 1e-12)
        act = np.flatnonzero(over.any(axis=1))
        if len(act) == 0:
            break
        sub = w[act]
        o = over[act]
        excess = np.where(o, sub - limit, 0.0).sum(axis=1)
        sub[o] = limit
        room = (sub > 0) & (sub < limit)
        rs = np.where(room, sub, 0.0).sum(axis=1)
        ok = rs > 0  # pragma: no mutate (a row with rs == 0 has no name with room: nothing to add to either way)
        safe = np.where(ok, rs, 1.0)  # pragma: no mutate (only read on rows with rs > 0)
        # divide first: excess * sub underflows to 0 when the names under the cap hold subnormal weights
        share = np.where(room, sub, 0.0) / safe[:, None]  # <= 1: no overflow from a capped name over a subnormal room
        sub = np.where(room & ok[:, None], sub + excess[:, None] * share, sub)
        w[act] = sub
    return np.minimum(w, limit)


def cap_weights(w: np.ndarray, limit: float, max_iter: int = 200) -> np.ndarray:  # pragma: no mutate (a cap on passes, as in cap_rows)
    """:func:`cap_rows` of one weight vector, shape (N,) in and out."""
    return cap_rows(np.asarray(w, dtype="float64")[None, :], limit, max_iter)[0]


def sector_fit(w: np.ndarray, sectors: np.ndarray, bounds: Mapping[str, tuple[float, float]],
               candidates: np.ndarray | None = None,
               max_iter: int = 200,  # pragma: no mutate (a cap on passes; the fit converges long before)
               ) -> np.ndarray:
    """Move weight between sectors until each lies within its ``(lo, hi)`` bounds.

    Violating sectors are scaled to their bound, the others rescaled to keep the total;
    repeated until no sector violates. A sector below its lower bound with no holding is
    seeded equally over its ``candidates`` names. Shape (N,) in and out.
    """
    w = w.copy()
    total = w.sum()
    labels = list(bounds)
    members = {s: sectors == s for s in labels}
    for s in labels:
        lo = bounds[s][0]
        if lo > 0 and w[members[s]].sum() == 0 and candidates is not None:
            pool = members[s] & candidates
            if pool.any():
                w[pool] = 1e-6
    for _ in range(max_iter):
        fixed = np.zeros(len(w), dtype=bool)
        target_fixed = 0.0
        ok = True  # pragma: no mutate (only ends the loop early: another pass over a fit that holds changes nothing)
        for s in labels:
            lo, hi = bounds[s]
            m = members[s]
            sw = w[m].sum()
            if sw > hi * (1 + 1e-10) + 1e-15 or (sw < lo * (1 - 1e-10) - 1e-15 and sw > 0):
                ok = False
                goal = min(max(sw, lo), hi)
                # divide first: goal / sw overflows when a sector holds subnormal weights
                w[m] = w[m] / sw * goal
            if sw > 0 and (sw >= hi * (1 - 1e-10) or sw <= lo * (1 + 1e-10)):
                fixed |= m
                target_fixed += w[m].sum()
        free = ~fixed & (w > 0)
        rest = total - target_fixed
        if free.any() and w[free].sum() > 0:
            # sectors at their bounds may take the whole total: the free ones then get nothing
            w[free] = w[free] / w[free].sum() * max(rest, 0.0)
        if ok:
            break
    return w


def sector_bounds_hold(w: np.ndarray, sectors: np.ndarray, bounds: Mapping[str, tuple[float, float]],
                       max_weight: float | None) -> bool:
    """Whether ``w`` (N,) meets the max weight and every sector bound (a held sector at least its minimum)."""
    if max_weight is not None and np.any(w > max_weight * (1 + 1e-9)):
        return False
    for s, (lo, hi) in bounds.items():
        sw = w[sectors == s].sum()
        if sw > hi + 1e-9 or (sw < lo - 1e-9 and sw > 0):
            return False
    return True


class Constrain(Algo):
    """Max weight per name and sector bounds, applied together until both hold.

    Reads and sets the sleeve totals (via :meth:`Context.set_total`; weight landing on a
    name no sleeve held goes to the equal-weight core). Uses ``data.sectors``. Without
    sector bounds every row is capped at once; with them each row alternates
    :func:`sector_fit` and the cap until both hold.
    """

    def __init__(self, max_weight: float | None = None, sector_bounds: Mapping[str, Sequence[float]] | None = None) -> None:
        self.max_weight = max_weight
        self.sector_bounds = {k: (float(v[0]), float(v[1])) for k, v in (sector_bounds or {}).items()}

    def __call__(self, ctx: Context) -> None:
        w = ctx.weights
        if not self.sector_bounds:
            if self.max_weight is None or not np.any(w > self.max_weight * (1 + 1e-12)):
                return
            ctx.set_total(cap_rows(w, self.max_weight), default_sleeve=CORE_SLEEVE)
            return
        out = np.empty_like(w)
        for r in range(len(w)):
            x = w[r]
            sectors = ctx.data.sectors_at(r)
            for _ in range(20):
                x = sector_fit(x, sectors, self.sector_bounds, candidates=ctx.selected[r])
                if self.max_weight is not None:
                    x = cap_weights(x, self.max_weight)
                if sector_bounds_hold(x, sectors, self.sector_bounds, self.max_weight):
                    break
            else:
                ctx.note("constraints: max weight and sector bounds could not both be met exactly")
            out[r] = x
        ctx.set_total(out, default_sleeve=CORE_SLEEVE)


def drift(w: np.ndarray, growth: np.ndarray) -> tuple[np.ndarray, float]:
    """Weights ``w`` (N,) after each name grew by ``growth`` (0 = delisted, now cash).

    Returns the drifted weights and the factor ``1 / new total value`` they were divided by
    (cash in ``w`` stays cash)."""
    grown = w * growth
    cash = 1.0 - w.sum() + float((w * (growth == 0)).sum())
    total = grown.sum() + cash
    return grown / total, 1.0 / total


class TurnoverBudget(Algo):
    """Limit one-way turnover per rebalance to ``budget``.

    If ``0.5 * sum |w - prev| > budget``, trade only part of the way:
    ``w = prev + a (w - prev)`` with ``a = budget / turnover`` (sleeves blended the same
    way, so attribution stays exact; cash in ``prev`` stays cash). ``prev`` is the previous
    row's result drifted with total returns to the date; for the first row, the context's
    initial book (none: the first row is built from cash, no budget). Put it last: the
    blend of a target that meets max weight and sector bounds with drifted holdings that
    may not can break them by as much as the holdings drifted. This step loops over rows
    (each depends on the previous result). Reads ``ctx.initial``, ``data.tri``; sets the
    sleeves.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __call__(self, ctx: Context) -> None:
        data = ctx.data
        R, N = ctx.shape
        sleeves = dict(ctx.sleeves)
        if ctx.initial is not None:
            key = ctx.key(HELD_SLEEVE)
            if key not in sleeves:
                sleeves[key] = np.zeros((R, N))
        names = list(sleeves)
        # (S, R, N), blended in place row by row; a name without a price holds nothing
        S = np.where(data.alive[None, :, :], np.stack([sleeves[k] for k in names]), 0.0)
        total = S.sum(axis=0) if len(names) > 1 else S[0].copy()
        tri = data.tri
        alive = data.alive
        changed = False
        for r in range(R):
            if r == 0:
                if ctx.initial is None:
                    continue
                prev_w = np.asarray(ctx.initial, dtype="float64")  # pragma: no mutate (only read in float arithmetic)
                prev_s = np.zeros((len(names), N))
                prev_s[names.index(ctx.key(HELD_SLEEVE))] = prev_w
            else:
                with np.errstate(invalid="ignore", divide="ignore"):  # pragma: no mutate (silences warnings only)
                    g = tri[r] / tri[r - 1]
                g = np.where(np.isfinite(g), g, 0.0)
                prev_w, scale = drift(total[r - 1], g)
                prev_s = S[:, r - 1] * (g * scale)[None, :]
            to = 0.5 * float(np.abs(total[r] - prev_w).sum())
            if to <= self.budget or to == 0:
                continue
            a = self.budget / to
            S[:, r] = np.where(alive[r][None, :], a * S[:, r] + (1 - a) * prev_s, 0.0)
            total[r] = S[:, r].sum(axis=0) if len(names) > 1 else S[0, r]
            changed = True
        if changed:
            ctx.sleeves = {k: S[i] for i, k in enumerate(names) if k != ctx.key(HELD_SLEEVE) or S[i].any()}
            ctx.cap_ranked = False


__all__ = ["Constrain", "TurnoverBudget", "cap_rows", "cap_weights", "drift", "sector_bounds_hold",
           "sector_fit"]
