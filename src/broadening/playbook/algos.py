"""The playbook as a stack of tiny algos (in the manner of bt).

A rebalance is one pass of a :class:`Context` through a list of algos; each algo does one
step and documents what it **reads** and what it **sets** on the context. An
:class:`AlgoStack` runs the pass on every rebalance date and collects the target weights
(and their split by sleeve) for the backtest engine.

Point-in-time: an algo sees the market only through ``ctx.t`` (the rebalance date's
position) and may read rows ``<= ctx.t`` of the panels; basket masks are point-in-time
by their own contract and are read at row ``ctx.t`` only.

Sleeves: the target weights are kept as a sum of named sleeve vectors
(``ctx.sleeves``), so returns can later be attributed to each sleeve. An algo that changes
total weights per name (a cap, a sector bound, a blend) rescales every sleeve of that
name by the same factor (:meth:`Context.set_total`); weight landing on a name no sleeve
held goes to a named default sleeve.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from broadening.errors import BroadeningError

if TYPE_CHECKING:
    from broadening.market import Market

CAP_SLEEVE = "cap_weight"
CORE_SLEEVE = "equal_weight_core"
#: Sleeve of the weight still held from a given initial book (a turnover budget keeps part of it).
HELD_SLEEVE = "current_book"


@dataclass
class Context:
    """State of one rebalance as it passes through the algos.

    Attributes
    ----------
    market : Market
    t : int
        Position of the rebalance date in ``market.dates``.
    r : int
        Rebalance number (0 for the first).
    selected : ndarray of bool, shape (N,)
        Current selection (set by selection algos).
    sleeves : dict of str to ndarray, shape (N,)
        Target weight per sleeve; their sum is the target.
    prev : ndarray, shape (N,)
        Weights held just before this rebalance (the previous targets drifted with
        prices to ``t``; zero at the first rebalance).
    prev_sleeves : dict of str to ndarray, shape (N,)
        ``prev`` split by sleeve.
    freed : float
        Weight released by trimming, waiting to be redeployed.
    regime : float
        Diffusion score on the date (0 scarcity .. 1 diffusion), NaN if unknown.
    empty : list of str
        Sleeves that had no eligible member on this date.
    notes : list of str
        Anything an algo had to fall back on (shown to the user).
    topk : ndarray of int
        Positions of the names trimmed by :class:`TrimTopK`.
    """

    market: Market
    t: int
    r: int
    selected: np.ndarray
    sleeves: dict[str, np.ndarray] = field(default_factory=dict)
    prev: np.ndarray | None = None
    prev_sleeves: dict[str, np.ndarray] = field(default_factory=dict)
    freed: float = 0.0
    regime: float = float("nan")
    empty: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    topk: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n(self) -> int:
        return len(self.market.ids)

    @property
    def weights(self) -> np.ndarray:
        """Total target weights, shape (N,)."""
        out = np.zeros(self.n)
        for v in self.sleeves.values():
            out += v
        return out

    def set_total(self, new: np.ndarray, default_sleeve: str = CAP_SLEEVE) -> None:
        """Replace the total weights, keeping each name's split across sleeves."""
        old = self.weights
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(old > 0, new / old, 0.0)
        for k in self.sleeves:
            self.sleeves[k] = self.sleeves[k] * scale
        extra = np.where(old > 0, 0.0, new)
        if np.any(extra > 0):
            self.sleeves[default_sleeve] = self.sleeves.get(default_sleeve, np.zeros(self.n)) + extra

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class Algo(abc.ABC):
    """One step of a rebalance. Subclasses implement :meth:`__call__`.

    :meth:`prepare` is called once per backtest with the market, before any rebalance,
    to compute whole-panel inputs (e.g. basket masks) at once.
    """

    def prepare(self, market: Market) -> None:  # noqa: B027 - optional hook
        pass

    @abc.abstractmethod
    def __call__(self, ctx: Context) -> None:
        """Read what the step needs from ``ctx`` and set what it produces."""


# -- selection ----------------------------------------------------------------------------
class SelectMembers(Algo):
    """Select the members of an index on the rebalance date.

    Reads ``market.members(index_id)[t]``; sets ``ctx.selected``. Without any stored
    membership for the index (prices-only data), every security with a price that day is
    selected, and a note says so.
    """

    def __init__(self, index_id: str) -> None:
        self.index_id = index_id
        self._mask: np.ndarray | None = None

    def prepare(self, market: Market) -> None:
        self._mask = market.members(self.index_id) if market.has_index(self.index_id) else None

    def __call__(self, ctx: Context) -> None:
        if self._mask is None:
            ctx.selected = ctx.market.alive[ctx.t].copy()
            ctx.note(f"no membership stored for index '{self.index_id}': all listed securities used")
        else:
            ctx.selected = self._mask[ctx.t].copy()


class SelectMomentum(Algo):
    """Keep the top ``quantile`` of the selection by 12-1 month momentum.

    Momentum on ``t`` = ``TRI[t - skip] / TRI[t - lookback] - 1`` (nothing after ``t``).
    Reads ``ctx.selected`` and the total-return index; sets ``ctx.selected``. Names
    without both prices are dropped; before ``lookback`` days of history exist the
    selection is kept whole (noted).
    """

    def __init__(self, lookback: int = 252, skip: int = 21, quantile: float = 0.2) -> None:
        self.lookback, self.skip, self.quantile = lookback, skip, quantile

    def __call__(self, ctx: Context) -> None:
        t = ctx.t
        if t < self.lookback:
            ctx.note("momentum: less than a lookback of history; whole selection kept")
            return
        tri = ctx.market.total_return_index
        with np.errstate(invalid="ignore", divide="ignore"):
            mom = tri[t - self.skip] / tri[t - self.lookback] - 1.0
        ok = ctx.selected & np.isfinite(mom)
        n = int(ok.sum())
        keep = np.zeros_like(ok)
        if n:
            k = max(1, int(np.ceil(self.quantile * n)))
            idx = np.flatnonzero(ok)
            top = idx[np.argsort(-mom[idx], kind="stable")[:k]]
            keep[top] = True
        ctx.selected = keep


# -- weighting ----------------------------------------------------------------------------
class WeighByCap(Algo):
    """Cap-weight the selection into one sleeve.

    Reads ``ctx.selected`` and ``market.market_cap[t]``; sets ``ctx.sleeves[sleeve]``
    (replacing all sleeves). Names without a market cap get none; if no selected name has
    one, the selection is equally weighted (noted).
    """

    def __init__(self, sleeve: str = CAP_SLEEVE) -> None:
        self.sleeve = sleeve

    def __call__(self, ctx: Context) -> None:
        cap = ctx.market.market_cap[ctx.t]
        w = np.where(ctx.selected & np.isfinite(cap) & (cap > 0), cap, 0.0)
        total = w.sum()
        if total > 0:
            w = w / total
        elif ctx.selected.any():
            ctx.note("no market caps on a rebalance date: equal weight used instead")
            w = ctx.selected / ctx.selected.sum()
        ctx.sleeves = {self.sleeve: w}


class WeighEqually(Algo):
    """Equally weight the selection into one sleeve.

    Reads ``ctx.selected``; sets ``ctx.sleeves[sleeve]`` (replacing all sleeves).
    """

    def __init__(self, sleeve: str = "equal_weight") -> None:
        self.sleeve = sleeve

    def __call__(self, ctx: Context) -> None:
        n = ctx.selected.sum()
        ctx.sleeves = {self.sleeve: ctx.selected / n if n else np.zeros(ctx.n)}


# -- the playbook steps --------------------------------------------------------------------
def regime_intensity(score: float, scaling: bool, floor: float) -> float:
    """How hard to trim: ``floor + (1 - floor) * score`` when scaling by regime, else 1.

    A diffusion score of 1 trims fully, a score of 0 trims ``floor`` of it; an unknown
    score (NaN) trims fully.
    """
    if not scaling or not np.isfinite(score):
        return 1.0
    return float(floor + (1.0 - floor) * min(max(score, 0.0), 1.0))


class TrimTopK(Algo):
    """Trim the ``k`` largest names of the cap sleeve ("trim the tax").

    ``mode="cap"``: each top-k name is cut to at most ``cap``; ``mode="cut"``: their total
    is cut by the share ``cut`` (proportionally). With ``regime_scaling`` the amount
    removed is multiplied by :func:`regime_intensity` of ``ctx.regime``.

    Reads ``ctx.sleeves[cap_weight]``, ``ctx.regime``; sets ``ctx.sleeves[cap_weight]``,
    ``ctx.freed`` (weight released) and remembers the top-k in ``ctx.topk``.
    """

    def __init__(self, k: int = 10, mode: str = "cap", cap: float = 0.04, cut: float = 0.25,
                 regime_scaling: bool = False, regime_floor: float = 0.5) -> None:
        if mode not in ("cap", "cut"):
            raise ValueError(f"mode must be 'cap' or 'cut', got {mode!r}")
        self.k, self.mode, self.cap, self.cut = k, mode, cap, cut
        self.regime_scaling, self.regime_floor = regime_scaling, regime_floor

    def __call__(self, ctx: Context) -> None:
        w = ctx.sleeves.get(CAP_SLEEVE)
        if w is None:
            raise BroadeningError("TrimTopK needs a cap-weighted sleeve first (WeighByCap)")
        held = np.flatnonzero(w > 0)
        top = held[np.argsort(-w[held], kind="stable")[: self.k]]
        s = regime_intensity(ctx.regime, self.regime_scaling, self.regime_floor)
        removed = np.zeros_like(w)
        if self.mode == "cap":
            removed[top] = np.maximum(w[top] - self.cap, 0.0) * s
        else:
            removed[top] = w[top] * self.cut * s
        ctx.sleeves[CAP_SLEEVE] = w - removed
        ctx.freed += float(removed.sum())
        ctx.topk = top


BasketFn = Callable[["Market"], np.ndarray]


class Redeploy(Algo):
    """Spread the freed weight over sleeves with fixed shares.

    The ``equal_weight_core`` sleeve equally weights the selected index members; every
    other sleeve equally weights its eligible names on the date: the basket mask at row
    ``t``, with a price that day, excluding the trimmed top-k. **Empty-sleeve rule:** a
    sleeve with no eligible name (or whose basket cannot be computed on this data) hands
    its share to the equal-weight core, and is listed in ``ctx.empty``.

    Reads ``ctx.freed``, ``ctx.selected``, ``ctx.topk``; sets ``ctx.sleeves[<sleeve>]``,
    ``ctx.freed = 0``, ``ctx.empty``.

    Parameters
    ----------
    shares : mapping of sleeve name to share (summing to one)
    baskets : mapping of sleeve name to ``fn(market) -> bool (T, N)``
        Eligibility of each non-core sleeve.
    """

    def __init__(self, shares: Mapping[str, float], baskets: Mapping[str, BasketFn]) -> None:
        self.shares = dict(shares)
        self.baskets = dict(baskets)
        self._masks: dict[str, np.ndarray | None] = {}
        self._why: dict[str, str] = {}

    def prepare(self, market: Market) -> None:
        self._masks, self._why = {}, {}
        for name in self.shares:
            if name == CORE_SLEEVE:
                continue
            fn = self.baskets.get(name)
            if fn is None:
                self._masks[name] = None
                self._why[name] = "no basket defined"
                continue
            try:
                self._masks[name] = np.asarray(fn(market), dtype=bool)
            except (BroadeningError, KeyError, ValueError) as exc:
                # thin data (no fundamentals, no flags): the sleeve is empty, not an error
                self._masks[name] = None
                self._why[name] = str(exc)

    def __call__(self, ctx: Context) -> None:
        freed = ctx.freed
        alive = ctx.market.alive[ctx.t]
        excluded = np.zeros(ctx.n, dtype=bool)
        excluded[ctx.topk] = True
        core_share = self.shares.get(CORE_SLEEVE, 0.0)
        for name, share in self.shares.items():
            if name == CORE_SLEEVE or share == 0:
                continue
            mask = self._masks.get(name)
            eligible = (mask[ctx.t] & alive & ~excluded) if mask is not None else np.zeros(ctx.n, dtype=bool)
            n = int(eligible.sum())
            if n == 0:
                ctx.empty.append(name)
                if mask is None:
                    ctx.note(f"sleeve '{name}' unavailable ({self._why.get(name, 'no data')}); its share went to the core")
                core_share += share
                continue
            ctx.sleeves[name] = ctx.sleeves.get(name, np.zeros(ctx.n)) + eligible * (freed * share / n)
        core = ctx.selected & ~excluded
        if not core.any():
            core = ctx.selected
        if core_share > 0 and core.any():
            ctx.sleeves[CORE_SLEEVE] = ctx.sleeves.get(CORE_SLEEVE, np.zeros(ctx.n)) + core * (freed * core_share / core.sum())
        elif core_share > 0:
            # nothing to hold: the freed weight stays with the cap sleeve names
            ctx.note("no index members to redeploy into; freed weight returned pro rata")
            cap = ctx.sleeves[CAP_SLEEVE]
            ctx.sleeves[CAP_SLEEVE] = cap + cap / cap.sum() * freed * core_share if cap.sum() > 0 else cap
        ctx.freed = 0.0


# -- constraints ---------------------------------------------------------------------------
def cap_weights(w: np.ndarray, limit: float, max_iter: int = 200) -> np.ndarray:
    """Cap every weight at ``limit``, handing the excess pro rata to names under it.

    Keeps the total when possible (``limit * names >= total``); otherwise every held name
    ends at ``limit`` and the remainder is cash. Shape (N,) in and out.
    """
    w = w.copy()
    for _ in range(max_iter):
        over = w > limit * (1 + 1e-12)
        if not over.any():
            break
        excess = float((w[over] - limit).sum())
        w[over] = limit
        room = (w > 0) & (w < limit)
        if not room.any():
            break
        w[room] += excess * w[room] / w[room].sum()
    return np.minimum(w, limit)


def sector_fit(w: np.ndarray, sectors: np.ndarray, bounds: Mapping[str, tuple[float, float]],
               candidates: np.ndarray | None = None, max_iter: int = 200) -> np.ndarray:
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
        ok = True
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


class Constrain(Algo):
    """Max weight per name and sector bounds, applied together until both hold.

    Reads and sets the sleeve totals (via :meth:`Context.set_total`). Uses the
    ``sector`` column of ``market.securities`` (missing sector = "Unknown").
    """

    def __init__(self, max_weight: float | None = None, sector_bounds: Mapping[str, Sequence[float]] | None = None) -> None:
        self.max_weight = max_weight
        self.sector_bounds = {k: (float(v[0]), float(v[1])) for k, v in (sector_bounds or {}).items()}
        self._sectors: np.ndarray | None = None

    def prepare(self, market: Market) -> None:
        self._sectors = market.securities["sector"].fillna("Unknown").astype(str).to_numpy()

    def __call__(self, ctx: Context) -> None:
        w = ctx.weights
        for _ in range(20):
            if self.sector_bounds:
                w = sector_fit(w, self._sectors, self.sector_bounds, candidates=ctx.selected)
            if self.max_weight is not None:
                w = cap_weights(w, self.max_weight)
            if self._satisfied(w):
                break
        else:
            ctx.note("constraints: max weight and sector bounds could not both be met exactly")
        ctx.set_total(w, default_sleeve=CORE_SLEEVE)

    def _satisfied(self, w: np.ndarray) -> bool:
        if self.max_weight is not None and np.any(w > self.max_weight * (1 + 1e-9)):
            return False
        for s, (lo, hi) in self.sector_bounds.items():
            sw = w[self._sectors == s].sum()
            if sw > hi + 1e-9 or (sw < lo - 1e-9 and sw > 0):
                return False
        return True


def factor_covariance(returns: np.ndarray, shrinkage: float, factors: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """A shrunk statistical-factor covariance of daily returns, as ``S = B B' + diag(D^2)``.

    The sample covariance ``C`` of ``returns`` (L, U) is approximated by its top
    ``factors`` principal components plus the residual variance on the diagonal, then shrunk
    toward its diagonal: ``S = (1 - shrinkage) (V V' + diag(resid)) + shrinkage diag(C)``.
    The top components come from subspace iteration on the ``L x L`` Gram matrix
    (matrix products and small QRs only; deterministic).

    Returns
    -------
    B : ndarray, shape (U, k)
    D : ndarray, shape (U,)
    """
    L, U = returns.shape
    xc = (returns - returns.mean(axis=0)) / np.sqrt(max(L - 1, 1))
    var = (xc**2).sum(axis=0)
    k = int(min(factors, L - 1, U))
    if k <= 0:
        return np.zeros((U, 0)), np.sqrt(var)
    G = xc @ xc.T
    Q = np.linalg.qr(G @ np.random.default_rng(0).standard_normal((L, k + 5)))[0]
    for _ in range(6):
        Q = np.linalg.qr(G @ Q)[0]
    lam, vec = np.linalg.eigh(Q.T @ G @ Q)
    top = np.argsort(lam)[::-1][:k]
    B = xc.T @ (Q @ vec[:, top])  # columns sigma_i v_i, so B B' is the rank-k part of C
    resid = np.maximum(var - (B**2).sum(axis=1), 0.0)
    D = np.sqrt((1.0 - shrinkage) * resid + shrinkage * var)
    return np.sqrt(1.0 - shrinkage) * B, D


class TrackingErrorBudget(Algo):
    """Keep the ex-ante tracking error against cap weight within a budget (cvxpy, CLARABEL).

    Covariance: :func:`factor_covariance` of the last ``lookback`` daily returns of the
    names held by the target or the benchmark (``factors`` principal components plus
    residual variance, shrunk toward the diagonal by ``shrinkage``); tracking error
    ``TE(w) = sqrt(252 (w - w_cap)' S (w - w_cap))``. If the target is over budget, solve

        ``min ||w - w_target||^2  s.t.  TE(w) <= budget, sum w = sum w_target, 0 <= w <= max_weight``

    plus the sector bounds. If the budget cannot hold together with max weight and sector
    bounds (e.g. cap weight itself breaks the max weight), the smallest tracking error
    those constraints allow is taken instead, and a note says so. Costs about 0.1-0.3 s
    per rebalance where the budget binds (mostly cvxpy's problem compilation).

    Reads the sleeves, the membership (benchmark = cap weight of the index members), the
    returns panel up to ``t``; sets the sleeve totals (new names go to ``cap_weight``).
    """

    def __init__(self, budget: float, lookback: int = 252, shrinkage: float = 0.25,
                 max_weight: float | None = None, sector_bounds: Mapping[str, Sequence[float]] | None = None,
                 index_id: str | None = None, factors: int = 20) -> None:
        self.budget, self.lookback, self.shrinkage, self.factors = budget, lookback, shrinkage, factors
        self.max_weight = max_weight
        self.sector_bounds = {k: (float(v[0]), float(v[1])) for k, v in (sector_bounds or {}).items()}
        self.index_id = index_id
        self.solves = 0

    def prepare(self, market: Market) -> None:
        self._sectors = market.securities["sector"].fillna("Unknown").astype(str).to_numpy()
        self._members = market.members(self.index_id) if self.index_id and market.has_index(self.index_id) else market.alive

    @staticmethod
    def te(d: np.ndarray, B: np.ndarray, D: np.ndarray) -> float:
        """Annualised tracking error of active weights ``d`` (U,) under ``S = B B' + diag(D^2)``."""
        return float(np.sqrt(252.0 * (float(((B.T @ d) ** 2).sum()) + float(((D * d) ** 2).sum()))))

    def benchmark(self, ctx: Context) -> np.ndarray | None:
        """Cap weights of the index members on the date, shape (N,), or None."""
        cap = ctx.market.market_cap[ctx.t]
        wb = np.where(self._members[ctx.t] & np.isfinite(cap) & (cap > 0), cap, 0.0)
        return wb / wb.sum() if wb.sum() > 0 else None

    def model(self, ctx: Context, U: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = ctx.t
        X = np.nan_to_num(ctx.market.returns[max(1, t - self.lookback + 1) : t + 1][:, U])
        return factor_covariance(X, self.shrinkage, self.factors)

    def __call__(self, ctx: Context) -> None:
        import cvxpy as cp
        import scipy.sparse as sp

        if ctx.t < 20:
            ctx.note("tracking-error budget skipped: less than 20 days of returns")
            return
        wb = self.benchmark(ctx)
        if wb is None:
            return
        wt = ctx.weights
        U = np.flatnonzero((wt > 0) | (wb > 0))
        B, D = self.model(ctx, U)
        if self.te(wt[U] - wb[U], B, D) <= self.budget:
            return
        A = sp.vstack([sp.csr_matrix(B.T), sp.diags(D)]).tocsr() * np.sqrt(252.0)
        w = cp.Variable(len(U))
        active = A @ w - A @ wb[U]
        cons = [cp.sum(w) == wt.sum(), w >= 0]
        if self.max_weight is not None:
            cons.append(w <= self.max_weight)
        for s, (lo, hi) in self.sector_bounds.items():
            mask = (self._sectors[U] == s).astype(float)
            if mask.any():
                cons += [mask @ w <= hi, mask @ w >= lo]
        new = self._solve(cp.Problem(cp.Minimize(cp.sum_squares(w - wt[U])), [*cons, cp.SOC(cp.Constant(self.budget), active)]), w)
        if new is None:
            new = self._solve(cp.Problem(cp.Minimize(cp.norm(active, 2)), cons), w)
            ctx.note("tracking-error budget cannot hold with max weight / sector bounds on some dates: "
                     "the smallest tracking error they allow was used")
        if new is None:
            ctx.note("tracking-error budget: solver failed on some dates; target kept")
            return
        out = np.zeros(ctx.n)
        out[U] = new * (wt.sum() / new.sum())  # remove the solver's ~1e-8 slack on the total
        ctx.set_total(out, default_sleeve=CAP_SLEEVE)

    def _solve(self, prob, w) -> np.ndarray | None:
        import cvxpy as cp

        try:
            prob.solve(solver=cp.CLARABEL)
        except cp.error.SolverError:
            return None
        self.solves += 1
        if prob.status not in ("optimal", "optimal_inaccurate") or w.value is None:
            return None
        return np.clip(w.value, 0.0, None)


class TurnoverBudget(Algo):
    """Limit one-way turnover per rebalance to ``budget``.

    If ``0.5 * sum |w - prev| > budget``, trade only part of the way:
    ``w = prev + a (w - prev)`` with ``a = budget / turnover`` (sleeves blended the same
    way, so attribution stays exact; cash in ``prev`` stays cash). Skipped at the first
    rebalance of a backtest (building the portfolio from cash) unless the stack was given
    the book held before it (``AlgoStack.run(initial=...)``). Put it last: the blend of a target that
    meets max weight and sector bounds with drifted holdings that may not can break them
    by as much as the holdings drifted. Reads ``ctx.prev``, ``ctx.prev_sleeves``; sets
    ``ctx.sleeves``.
    """

    def __init__(self, budget: float) -> None:
        self.budget = budget

    def __call__(self, ctx: Context) -> None:
        if ctx.prev is None:
            return
        w = ctx.weights
        to = 0.5 * float(np.abs(w - ctx.prev).sum())
        if to <= self.budget or to == 0:
            return
        a = self.budget / to
        names = set(ctx.sleeves) | set(ctx.prev_sleeves)
        z = np.zeros(ctx.n)
        ctx.sleeves = {k: a * ctx.sleeves.get(k, z) + (1 - a) * ctx.prev_sleeves.get(k, z) for k in names}


# -- running the stack -----------------------------------------------------------------------
@dataclass
class TargetWeights:
    """Targets produced by a strategy for the engine.

    Attributes
    ----------
    positions : ndarray of int, shape (R,)
        Rebalance positions in ``market.dates``.
    weights : ndarray, shape (R, N)
        Target weights (rows sum to at most one).
    sleeves : dict of str to ndarray, shape (R, N)
        The weights split by sleeve (summing to ``weights``).
    empty_sleeves : DataFrame
        Columns ``date``, ``sleeve``: sleeves without eligible names on each date.
    notes : list of str
        Fallbacks used on at least one date.
    """

    positions: np.ndarray
    weights: np.ndarray
    sleeves: dict[str, np.ndarray]
    empty_sleeves: pd.DataFrame
    notes: list[str]


class AlgoStack:
    """Run a list of algos on every rebalance date.

    Parameters
    ----------
    algos : sequence of Algo
    name : str
    """

    def __init__(self, algos: Sequence[Algo], name: str = "strategy") -> None:
        self.algos = list(algos)
        self.name = name

    def run(self, market: Market, positions: np.ndarray, regime_score: pd.Series | None = None,
            initial: np.ndarray | None = None) -> TargetWeights:
        """Target weights on each rebalance position.

        ``regime_score`` (0..1, indexed by date) is read as of each rebalance date (last
        value on or before it). ``initial`` (N,) is the book held just before the first
        rebalance (weights of its value, the rest cash); it is the ``prev`` of the first
        rebalance (sleeve :data:`HELD_SLEEVE`), so a turnover budget applies to the move from it.
        """
        for a in self.algos:
            a.prepare(market)
        R, N = len(positions), len(market.ids)
        W = np.zeros((R, N))
        sleeves: dict[str, np.ndarray] = {}
        empty_rows: list[tuple[pd.Timestamp, str]] = []
        notes: list[str] = []
        regime = _regime_at(regime_score, market, positions)
        tri = market.total_return_index
        prev_s: dict[str, np.ndarray] = {}
        prev = None
        if initial is not None:
            prev = np.asarray(initial, dtype="float64")
            prev_s = {HELD_SLEEVE: prev.copy()}
        for r, t in enumerate(positions):
            t = int(t)
            if r:
                prev, prev_s = _drift(W[r - 1], {k: v[r - 1] for k, v in sleeves.items()}, tri, int(positions[r - 1]), t)
            ctx = Context(market=market, t=t, r=r, selected=np.zeros(N, dtype=bool), prev=prev,
                          prev_sleeves=prev_s, regime=float(regime[r]))
            for a in self.algos:
                a(ctx)
            for k, v in ctx.sleeves.items():
                if k not in sleeves:
                    sleeves[k] = np.zeros((R, N))
                sleeves[k][r] = np.where(market.alive[t], v, 0.0)
            W[r] = sum((sleeves[k][r] for k in sleeves), np.zeros(N))
            empty_rows += [(pd.Timestamp(market.dates[t]), s) for s in ctx.empty]
            notes += [n for n in ctx.notes if n not in notes]
        empty = pd.DataFrame({
            "date": pd.DatetimeIndex([d for d, _ in empty_rows], dtype="datetime64[ns]"),
            "sleeve": pd.Series([s for _, s in empty_rows], dtype=object),
        })
        return TargetWeights(positions=np.asarray(positions), weights=W, sleeves=sleeves, empty_sleeves=empty, notes=notes)


def _regime_at(score: pd.Series | None, market: Market, positions: np.ndarray) -> np.ndarray:
    if score is None or len(score) == 0:
        return np.full(len(positions), np.nan)
    s = score.sort_index()
    d = pd.DatetimeIndex(market.dates[positions].astype("datetime64[ns]"))
    return s.reindex(s.index.union(d)).ffill().reindex(d).to_numpy(dtype="float64")


def _drift(w: np.ndarray, parts: dict[str, np.ndarray], tri: np.ndarray, t0: int, t1: int):
    """Weights ``w`` set at ``t0`` as they stand at ``t1`` (cash kept; delisted names -> cash)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        g = tri[t1] / tri[t0]
    g = np.where(np.isfinite(g), g, 0.0)
    grown = w * g
    cash = 1.0 - w.sum() + float((w * (g == 0)).sum())
    total = grown.sum() + cash
    return grown / total, {k: v * g / total for k, v in parts.items()}
