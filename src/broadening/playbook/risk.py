"""Risk: a shrunk statistical-factor covariance and the ex-ante tracking-error budget."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from broadening.playbook.constraints import cap_weights
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


_CONTROLLER: list = []


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS single-threaded inside (threadpoolctl, when installed).

    The matrices here are small: on a shared 2-core machine a multi-threaded BLAS runs a
    252 x 1,000 factor model ~8x slower than one thread, and results must not depend on
    where they ran.
    """
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - optional
            _CONTROLLER.append(None)
        else:
            # building a controller scans the loaded libraries (~3 ms): once per process
            _CONTROLLER.append(ThreadpoolController())
    if _CONTROLLER[0] is None:  # pragma: no cover
        yield
        return
    with _CONTROLLER[0].limit(limits=1):
        yield


def tracking_error_bound(returns: np.ndarray, d: np.ndarray, shrinkage: float) -> float:
    """An upper bound on the :func:`factor_covariance` tracking error of active weights ``d``.

    With ``C`` the sample covariance of ``returns`` (L, U), the factor part ``B B'`` is a
    projection of ``C`` (so ``B B' <= C``) and the residual variances are at most the sample
    variances, hence ``S <= (1 - shrinkage) C + diag(C)`` and
    ``TE(d)^2 <= 252 ((1 - shrinkage) d' C d + sum_i C_ii d_i^2)``. Costs one pass over the
    returns of the names with ``d != 0``, no factorisation.
    """
    idx = np.flatnonzero(d)
    if len(idx) == 0:
        return 0.0
    X = returns[:, idx]
    L = X.shape[0]
    xc = (X - X.mean(axis=0)) / np.sqrt(max(L - 1, 1))
    dd = d[idx]
    quad = float(((xc @ dd) ** 2).sum())
    diag = float(((xc**2).sum(axis=0) * dd**2).sum())
    return float(np.sqrt(252.0 * ((1.0 - shrinkage) * quad + diag)))


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
    if data.market is not None:
        data.market.require_lookback(lookback, "risk model (constraints.te_lookback)")

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = int(data.positions[r])
        uni = data.members[r].copy()
        for m in data.baskets.values():
            if m is not None:
                uni |= m[r]
        U = np.flatnonzero(uni)
        X = data.returns_block(max(1, t - lookback + 1), t + 1, U)
        with one_blas_thread():
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
        if data.market is not None:
            data.market.require_lookback(self.lookback, "tracking-error budget (constraints.te_lookback)")
        wb, nocap = data.cap_weights()
        W = ctx.weights
        new = None
        for r in range(len(W)):
            if data.positions[r] < 20:
                ctx.note("tracking-error budget skipped: less than 20 days of returns")
                continue
            if nocap[r]:
                continue
            wt = W[r]
            t = int(data.positions[r])
            d = wt - wb[r]
            act = np.flatnonzero(d)
            window = data.returns_block(max(1, t - self.lookback + 1), t + 1, act)
            if tracking_error_bound(window, d[act], self.shrinkage) <= self.budget:
                continue  # within budget for sure: no risk model needed on this row
            U, B, D = self.model(data, r)
            if tracking_error(wt[U] - wb[r, U], B, D) <= self.budget:
                continue
            idx = np.flatnonzero((wt[U] > 0) | (wb[r, U] > 0))
            out = self._solve_row(ctx, r, wt, wb[r], U[idx], B[idx], D[idx])
            if out is not None:
                if new is None:
                    new = W.copy()
                new[r] = out
        if new is not None:
            ctx.set_total(new, default_sleeve=CAP_SLEEVE)

    def _solve_row(self, ctx: Context, r: int, wt: np.ndarray, wb: np.ndarray, U: np.ndarray, B: np.ndarray,
                   D: np.ndarray) -> np.ndarray | None:
        sectors = ctx.data.sectors_at(r)[U]
        masks = [(sectors == s_).astype(float) for s_ in self.sector_bounds]
        bounds = [b for s_, b in self.sector_bounds.items() if (sectors == s_).any()]
        masks = [m for m in masks if m.any()]
        import scipy.sparse as sp

        A = (sp.vstack([sp.csr_matrix(B.T), sp.diags(D)]) * np.sqrt(252.0)).tocsr()
        sol = solve_te_projection(wt[U], wb[U], A, self.budget, self.max_weight, masks, bounds)
        self.solves += 1
        if sol is None:
            sol = solve_min_te(wt[U].sum(), wb[U], A, self.max_weight, masks, bounds)
            self.solves += 1
            ctx.note("tracking-error budget cannot hold with max weight / sector bounds on some dates: "
                     "the smallest tracking error they allow was used")
        if sol is None:
            ctx.note("tracking-error budget: solver failed on some dates; target kept")
            return None
        out = np.zeros(len(wt))
        out[U] = sol * (wt.sum() / sol.sum())  # remove the solver's ~1e-8 slack on the total
        if self.max_weight is not None:
            out = cap_weights(out, self.max_weight)  # and on the bounds
        return out


def _constraints(n: int, total: float, max_weight: float | None, masks: list[np.ndarray],
                 bounds: list[tuple[float, float]], extra: int = 0):
    """Rows of ``A x + s = b`` for: sum w = total, w >= 0, w <= max_weight, sector bounds (x = [w, extra vars])."""
    import scipy.sparse as sp

    m = n + extra
    rows = [sp.csr_matrix(np.r_[np.ones(n), np.zeros(extra)][None, :])]
    rhs = [np.array([total])]
    cones_zero = 1
    lin = [sp.hstack([-sp.identity(n), sp.csr_matrix((n, extra))])]
    lrhs = [np.zeros(n)]
    if max_weight is not None:
        lin.append(sp.hstack([sp.identity(n), sp.csr_matrix((n, extra))]))
        lrhs.append(np.full(n, max_weight))
    for mk, (lo, hi) in zip(masks, bounds, strict=True):
        row = np.r_[mk, np.zeros(extra)][None, :]
        lin += [sp.csr_matrix(row), sp.csr_matrix(-row)]
        lrhs += [np.array([hi]), np.array([-lo])]
    A = sp.vstack(rows + lin).tocsc()
    b = np.concatenate(rhs + lrhs)
    return A, b, cones_zero, A.shape[0] - cones_zero, m


def _clarabel(P, q, A, b, cones) -> np.ndarray | None:
    import clarabel

    settings = clarabel.DefaultSettings()
    settings.verbose = False  # pragma: no mutate (the solver log only)
    sol = clarabel.DefaultSolver(P, q, A, b, cones, settings).solve()
    if str(sol.status) not in ("Solved", "AlmostSolved"):
        return None
    return np.asarray(sol.x)


def solve_te_projection(wt: np.ndarray, wb: np.ndarray, A, budget: float, max_weight: float | None,
                        masks: list[np.ndarray], bounds: list[tuple[float, float]]) -> np.ndarray | None:
    """``min ||w - wt||^2  s.t.  ||A (w - wb)|| <= budget, sum w = sum wt, 0 <= w <= max_weight``, sector bounds.

    Solved with CLARABEL directly (the conic form cvxpy would build: a second-order cone for
    the tracking error, linear cones for the rest). None when infeasible or not solved.
    """
    import clarabel
    import scipy.sparse as sp

    n = len(wt)
    Al, bl, nz, nn, _ = _constraints(n, float(wt.sum()), max_weight, masks, bounds)
    # (budget, A (w - wb)) in the second-order cone: s = b - A_c w
    Ac = sp.vstack([Al, sp.csr_matrix((1, n)), -sp.csr_matrix(A)]).tocsc()
    bc = np.concatenate([bl, [budget], -A @ wb])
    cones = [clarabel.ZeroConeT(nz), clarabel.NonnegativeConeT(nn), clarabel.SecondOrderConeT(1 + A.shape[0])]
    x = _clarabel(sp.identity(n, format="csc") * 2.0, -2.0 * wt, Ac, bc, cones)
    return None if x is None else np.clip(x, 0.0, None)


def solve_min_te(total: float, wb: np.ndarray, A, max_weight: float | None, masks: list[np.ndarray],
                 bounds: list[tuple[float, float]]) -> np.ndarray | None:
    """``min ||A (w - wb)||  s.t.  sum w = total, 0 <= w <= max_weight``, sector bounds (CLARABEL)."""
    import clarabel
    import scipy.sparse as sp

    n = len(wb)
    Al, bl, nz, nn, m = _constraints(n, total, max_weight, masks, bounds, extra=1)
    # (t, A (w - wb)) in the second-order cone, minimise t
    soc = sp.vstack([sp.csr_matrix(np.r_[np.zeros(n), -1.0][None, :]),
                     sp.hstack([-sp.csr_matrix(A), sp.csr_matrix((A.shape[0], 1))])])
    Ac = sp.vstack([Al, soc]).tocsc()
    bc = np.concatenate([bl, [0.0], -A @ wb])
    cones = [clarabel.ZeroConeT(nz), clarabel.NonnegativeConeT(nn), clarabel.SecondOrderConeT(1 + A.shape[0])]
    q = np.r_[np.zeros(n), 1.0]
    x = _clarabel(sp.csc_matrix((m, m)), q, Ac, bc, cones)
    return None if x is None else np.clip(x[:n], 0.0, None)
