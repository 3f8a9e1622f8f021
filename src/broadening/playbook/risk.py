"""Risk: a shrunk statistical-factor covariance and the ex-ante tracking-error budget."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from broadening.playbook.context import CAP_SLEEVE, Algo, Context, RebalanceData


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


def tracking_error(d: np.ndarray, B: np.ndarray, D: np.ndarray) -> float:
    """Annualised tracking error of active weights ``d`` (U,) under ``S = B B' + diag(D^2)``."""
    return float(np.sqrt(252.0 * (float(((B.T @ d) ** 2).sum()) + float(((D * d) ** 2).sum()))))


def risk_model(data: RebalanceData, r: int, lookback: int, shrinkage: float, factors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The covariance model of rebalance row ``r``: universe ``U`` (positions), ``B`` (U, k), ``D`` (U,).

    The universe is every name a strategy could hold on the date (index members and
    sleeve-eligible names), so the model does not depend on a strategy's parameters and
    is estimated once per row and data (memoised), from the last ``lookback`` daily returns
    up to the date.
    """
    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = int(data.positions[r])
        uni = data.members[r].copy()
        for m in data.baskets.values():
            if m is not None:
                uni |= m[r]
        U = np.flatnonzero(uni)
        X = data.daily_returns()[max(1, t - lookback + 1) : t + 1][:, U]
        B, D = factor_covariance(X, shrinkage, factors)
        return U, B, D

    return data.memo(("risk_model", r, lookback, shrinkage, factors), build)


class TrackingErrorBudget(Algo):
    """Keep the ex-ante tracking error against cap weight within a budget (cvxpy, CLARABEL).

    Covariance: :func:`risk_model` of the row (:func:`factor_covariance` of the last
    ``lookback`` daily returns of the names any strategy could hold that day: ``factors``
    principal components plus residual variance, shrunk toward the diagonal by
    ``shrinkage``); tracking error ``TE(w) = sqrt(252 (w - w_cap)' S (w - w_cap))``. On a
    row whose target is over budget, solve over the names held by the target or the benchmark

        ``min ||w - w_target||^2  s.t.  TE(w) <= budget, sum w = sum w_target, 0 <= w <= max_weight``

    plus the sector bounds. If the budget cannot hold together with max weight and sector
    bounds (e.g. cap weight itself breaks the max weight), the smallest tracking error
    those constraints allow is taken instead, and a note says so. The check is cheap; a
    solve costs about 0.1-0.3 s (mostly cvxpy's problem compilation), on the rows where
    the budget binds only.

    Reads the weights, ``data.cap_weights()`` (the benchmark), the daily returns up to each
    date; sets the sleeve totals (new names go to ``cap_weight``).
    """

    needs_returns = True

    def __init__(self, budget: float, lookback: int = 252, shrinkage: float = 0.25,
                 max_weight: float | None = None, sector_bounds: Mapping[str, Sequence[float]] | None = None,
                 index_id: str | None = None, factors: int = 20) -> None:
        self.budget, self.lookback, self.shrinkage, self.factors = budget, lookback, shrinkage, factors
        self.max_weight = max_weight
        self.sector_bounds = {k: (float(v[0]), float(v[1])) for k, v in (sector_bounds or {}).items()}
        self.index_id = index_id
        self.solves = 0

    te = staticmethod(tracking_error)

    def model(self, data: RebalanceData, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``U, B, D`` of row ``r`` (see :func:`risk_model`)."""
        return risk_model(data, r, self.lookback, self.shrinkage, self.factors)

    def ex_ante(self, data: RebalanceData, weights: np.ndarray) -> np.ndarray:
        """Ex-ante tracking error of ``weights`` (R, N) against cap weight on each row (NaN before 20 days)."""
        wb, nocap = data.cap_weights()
        out = np.full(len(weights), np.nan)
        for r in range(len(weights)):
            if data.positions[r] < 20 or nocap[r]:
                continue
            U, B, D = self.model(data, r)
            out[r] = tracking_error(weights[r, U] - wb[r, U], B, D)
        return out

    def __call__(self, ctx: Context) -> None:
        data = ctx.data
        wb, nocap = data.cap_weights()
        W = ctx.weights
        new = None
        for r in range(len(W)):
            if data.positions[r] < 20:
                ctx.note("tracking-error budget skipped: less than 20 days of returns")
                continue
            if nocap[r]:
                continue
            U, B, D = self.model(data, r)
            wt = W[r]
            if tracking_error(wt[U] - wb[r, U], B, D) <= self.budget:
                continue
            idx = np.flatnonzero((wt[U] > 0) | (wb[r, U] > 0))
            out = self._solve_row(ctx, wt, wb[r], U[idx], B[idx], D[idx])
            if out is not None:
                if new is None:
                    new = W.copy()
                new[r] = out
        if new is not None:
            ctx.set_total(new, default_sleeve=CAP_SLEEVE)

    def _solve_row(self, ctx: Context, wt: np.ndarray, wb: np.ndarray, U: np.ndarray, B: np.ndarray,
                   D: np.ndarray) -> np.ndarray | None:
        import cvxpy as cp
        import scipy.sparse as sp

        A = sp.vstack([sp.csr_matrix(B.T), sp.diags(D)]).tocsr() * np.sqrt(252.0)
        w = cp.Variable(len(U))
        active = A @ w - A @ wb[U]
        cons = [cp.sum(w) == wt.sum(), w >= 0]
        if self.max_weight is not None:
            cons.append(w <= self.max_weight)
        sectors = ctx.data.sectors
        for s, (lo, hi) in self.sector_bounds.items():
            mask = (sectors[U] == s).astype(float)
            if mask.any():
                cons += [mask @ w <= hi, mask @ w >= lo]
        sol = self._solve(cp.Problem(cp.Minimize(cp.sum_squares(w - wt[U])),
                                     [*cons, cp.SOC(cp.Constant(self.budget), active)]), w)
        if sol is None:
            sol = self._solve(cp.Problem(cp.Minimize(cp.norm(active, 2)), cons), w)
            ctx.note("tracking-error budget cannot hold with max weight / sector bounds on some dates: "
                     "the smallest tracking error they allow was used")
        if sol is None:
            ctx.note("tracking-error budget: solver failed on some dates; target kept")
            return None
        out = np.zeros(len(wt))
        out[U] = sol * (wt.sum() / sol.sum())  # remove the solver's ~1e-8 slack on the total
        return out

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
