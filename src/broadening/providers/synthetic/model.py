"""The price model: factor returns, loadings, per-security GARCH returns, share counts and
the concentration solve that steers the top-10 share to its knots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from broadening.providers.synthetic.calibration import (
    CRISES,
    FACTOR_DRIFTS,
    FACTORS,
    FINAL_DRIFTS,
    FINAL_PHASE_START,
    MARKET_FINAL,
    MARKET_KNOTS,
    SECTOR_NAMES,
    SECTORS,
    TOP10_FINAL,
    TOP10_KNOTS,
    TRADING_DAYS,
    expit,
    interp_knots,
    logit,
    zipf_top_share,
)
from broadening.providers.synthetic.state import GeneratorState


def garch_t(rng, n: int, sigma: float, alpha: float, beta: float, nu: float, mult: np.ndarray):
    """A GARCH(1,1) series of length ``n`` with standardised Student-t shocks."""
    z = rng.standard_t(nu, size=n) / np.sqrt(nu / (nu - 2))
    var_lr = sigma**2
    omega = var_lr * (1 - alpha - beta)
    h = var_lr
    out = np.empty(n)
    hs = np.empty(n)
    for t in range(n):
        e = np.sqrt(h) * z[t]
        out[t] = e * mult[t]
        hs[t] = h
        # The crisis multiplier scales the shock, not the recursion, so it cannot explode.
        h = omega + alpha * e * e + beta * h
    return out, np.sqrt(hs)



def factor_returns(g: GeneratorState) -> None:
    rng, T, days = g.rng, g.T, g.days
    mult = np.ones(T)
    for a, b, m in CRISES:
        mult[(days >= np.datetime64(a)) & (days <= np.datetime64(b))] = m
    for t in range(1, T):  # crises fade out instead of ending abruptly
        mult[t] = max(mult[t], 1.0 + (mult[t - 1] - 1.0) * 0.97)
    eps, vol = garch_t(rng, T, 0.0095, 0.08, 0.90, 5.0, mult)
    # Brownian bridge: the market's cumulative log level hits MARKET_KNOTS exactly.
    lvl = np.log(interp_knots(days, MARKET_KNOTS, MARKET_FINAL[g.regime], log=True))
    noise = np.cumsum(eps)
    kd = np.array([np.datetime64(d) for d, _ in (*MARKET_KNOTS, MARKET_FINAL[g.regime])])
    kd = kd[(kd > days[0]) & (kd < days[-1])]
    kidx = np.unique(np.concatenate([[0], np.searchsorted(days, kd), [T - 1]]))
    noise = noise - np.interp(np.arange(T), kidx, noise[kidx])
    mkt = np.diff(lvl + noise, prepend=lvl[0] + noise[0] - eps[0])
    g.vol_state = vol / 0.0095 * mult
    # Style factors: t shocks scaled by the market vol state, plus phase drifts.
    sig = {"size": 0.0035, "mega": 0.004, "ai": 0.005, "dom": 0.003, "quality": 0.0025, "credit": 0.004}
    K = len(FACTORS) + len(SECTOR_NAMES)
    F = np.empty((T, K))
    F[:, 0] = mkt
    vs = np.sqrt(g.vol_state)
    zt = rng.standard_t(5, size=(T, K - 1)) / np.sqrt(5 / 3)
    for j, name in enumerate(FACTORS[1:], start=1):
        F[:, j] = sig[name] * zt[:, j - 1] * vs
        for a, b, d in FACTOR_DRIFTS.get(name, ()):
            F[(days >= np.datetime64(a)) & (days <= np.datetime64(b)), j] += d / TRADING_DAYS
        fin = days >= np.datetime64(FINAL_PHASE_START)
        F[fin, j] += FINAL_DRIFTS[g.regime].get(name, 0.0) / TRADING_DAYS
    F[:, len(FACTORS):] = 0.0055 * zt[:, len(FACTORS) - 1:] * vs[:, None]
    g.F = F


def loadings(g: GeneratorState) -> None:
    rng, N = g.rng, g.N
    K = g.F.shape[1]
    B = np.zeros((N, K))
    B[:, 0] = np.clip(rng.normal(1.0, 0.25, N), 0.3, 1.9)
    B[g.mega, 0] = rng.uniform(1.05, 1.3, g.mega.sum())
    B[g.sector == SECTOR_NAMES.index("Utilities"), 0] *= 0.6
    B[g.sector == SECTOR_NAMES.index("Consumer Staples"), 0] *= 0.7
    z = -np.log(g.rank)
    B[:, 1] = -(z - z.mean()) / z.std() * 0.5  # small minus big
    B[g.mega, 2] = 1.0
    layer_load = {"infrastructure": 1.0, "platform": 0.5, "adopter": -0.6, "none": 0.0}
    B[:, 3] = [layer_load[x] for x in g.ai]
    # Only cyclicals load: domestic ones long, export-heavy ones short.
    B[:, 4] = g.cyc * (g.dom - 0.45) * 2.5
    B[:, 5] = g.quality * 0.6
    B[g.bdc, 6] = 1.0
    B[g.bdc, 4] = 0.0  # BDCs ride the credit factor, not the domestic-cyclical one
    B[g.bdc, 1] *= 0.5
    B[np.arange(N), len(FACTORS) + g.sector] = rng.uniform(0.6, 1.2, N)
    g.B = B


def return_params(g: GeneratorState) -> None:
    """Per-security return parameters: dividend yield, price drift and GARCH variance.

    Sets ``g.div_yield``, ``g.drift`` and ``g.s2`` (long-run daily variance) for all ``g.N``
    securities, so blocks of securities can be simulated one at a time afterwards.
    """
    rng, N = g.rng, g.N
    # Dividend yields; half the yield comes out of the price drift.
    base_y = np.array([SECTORS[s][5] for s in SECTOR_NAMES])[g.sector]
    y = np.clip(base_y * np.exp(rng.normal(0, 0.4, N)) + 0.004 * g.quality, 0.0, 0.04)
    y[(g.quality < -0.8) | g.mega] *= 0.3
    y[g.bdc] = 0.04
    g.div_yield = y
    drift = -0.5 * y / TRADING_DAYS
    drift[g.riser] += 0.12 / TRADING_DAYS  # an NVDA-like climb through the ranks
    g.drift = drift

    ann = np.where(g.small0, 0.36, 0.22) * np.exp(rng.normal(0, 0.2, N) - 0.08 * g.quality)
    ann[g.mega] = 0.22
    ann = np.clip(ann, 0.12, 0.75)
    g.s2 = (ann / np.sqrt(TRADING_DAYS)) ** 2


def simulate_returns(r: np.ndarray, F: np.ndarray, B: np.ndarray, s2: np.ndarray, drift: np.ndarray,
                     vol_state: np.ndarray) -> np.ndarray:
    """Daily log price returns from standard normal shocks ``r`` (days x securities), in place.

    Factor returns ``F @ B.T`` plus a per-security GARCH(1,1) (long-run variance ``s2``,
    alpha 0.06, beta 0.92) scaled by the market vol state, feeding a mean-reverting (OU)
    idiosyncratic log cap, plus ``drift``. Row ``t`` of ``F`` and ``vol_state`` is row ``t``
    of ``r``; the GARCH state starts at its long-run value on the first row.
    """
    T, N = r.shape
    a, b = 0.06, 0.92
    omega = s2 * (1 - a - b)
    decay = 1.0 - 0.15 / TRADING_DAYS  # OU mean reversion of the idiosyncratic log cap
    vm = np.sqrt(vol_state)
    BT = np.ascontiguousarray(B.T)
    h = s2.copy()
    x = np.zeros(N)
    e = np.empty(N)
    xn = np.empty(N)
    for t in range(T):
        row = r[t]
        np.sqrt(h, out=e)
        e *= row
        np.multiply(x, decay, out=xn)
        xn += e * vm[t]
        np.subtract(xn, x, out=row)
        row += F[t] @ BT
        row += drift
        x, xn = xn, x
        e *= e
        h *= b
        h += omega
        h += a * e
    return r


def delisting_paths(r: np.ndarray, first: np.ndarray, last: np.ndarray, distress: np.ndarray,
                    merger: np.ndarray) -> None:
    """Shape the returns before a delisting, in place: a distress slide (-75% over the last
    year, vol up) or a merger (+25% jump 40 days before the end, then calm).

    ``first`` and ``last`` are row indices of ``r``; ``distress`` and ``merger`` are masks.
    """
    for idx, kind in ((np.flatnonzero(distress), "d"), (np.flatnonzero(merger), "m")):
        if not len(idx):
            continue
        span = 250 if kind == "d" else 40
        lens = np.minimum(span, last[idx] - first[idx])
        rows = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        sec = np.repeat(idx, lens)
        tt = np.repeat(last[idx], lens) - rows
        if kind == "d":
            r[tt, sec] = r[tt, sec] * 1.6 - np.log(4.0) / span
        else:
            r[tt, sec] *= 0.15
            r[last[idx] - lens, idx] += np.log(1.25)


def returns(g: GeneratorState) -> None:
    """Daily log price returns of every security (``g.r``, days x securities)."""
    return_params(g)
    r = np.empty((g.T, g.N))
    g.rng.standard_normal(out=r)
    simulate_returns(r, g.F, g.B, g.s2, g.drift, g.vol_state)
    delisting_paths(r, g.first, g.last, g.distress, g.merger)
    g.r = r


def month_ends(dates: pd.DatetimeIndex) -> np.ndarray:
    """Row indices of the last business day of each month (and of the last date)."""
    return np.flatnonzero(np.diff(dates.month.values, append=0) != 0)


def share_count_changes(rng: np.random.Generator, days: np.ndarray, month_end: np.ndarray, first: np.ndarray,
                        last: np.ndarray, quality: np.ndarray, small0: np.ndarray, bdc: np.ndarray,
                        regime: str) -> tuple[np.ndarray, np.ndarray]:
    """Split-adjusted log share counts (relative to the listing count) on ``days``.

    Buybacks (quality names) and issuance (junk, small caps, BDCs) a few times a year,
    effective the business day after a month-end in ``month_end``; ``first``/``last`` are
    row indices into ``days``. Returns the (days x securities) panel and the effective rows.
    """
    T, N = len(days), len(first)
    M = len(month_end)
    ev = rng.random((M, N)) < 0.25
    mu = np.where(quality > 0.3, -0.006, 0.004) + np.where(small0, 0.004, 0.0)
    chg = ev * (mu + rng.normal(0, 0.006, (M, N)))
    fin = days[month_end] >= np.datetime64(FINAL_PHASE_START)
    bdc_boost = 0.03 if regime == "broadening" else 0.0
    chg[np.ix_(fin, bdc)] += bdc_boost
    # Event takes effect the business day after the month-end.
    eff = np.minimum(month_end + 1, T - 1)
    chg[eff[:, None] <= first[None, :]] = 0.0
    chg[eff[:, None] > last[None, :]] = 0.0
    cum = np.vstack([np.zeros((1, N)), np.cumsum(chg, axis=0)])
    ri = np.searchsorted(eff, np.arange(T), side="right")
    return cum[ri], eff


def share_counts(g: GeneratorState) -> tuple[np.ndarray, np.ndarray]:
    """Split-adjusted share counts (relative to the listing count), daily."""
    return share_count_changes(g.rng, g.days, month_ends(g.dates), g.first, g.last, g.quality, g.small0,
                               g.bdc, g.regime)


def solve_concentration(g: GeneratorState, lcap_m: np.ndarray) -> np.ndarray:
    """Daily log k(t) for the mega group so the top-10 share follows the target."""
    p = g.p
    days = g.days
    month_end = g.solve_days  # the first day and every month-end
    target = interp_knots(days[month_end], TOP10_KNOTS, TOP10_FINAL[g.regime])
    shift = logit(zipf_top_share(p.n_large)) - logit(zipf_top_share(500))
    target = expit(logit(target) + shift)
    g.top10_target_daily = expit(logit(interp_knots(days, TOP10_KNOTS, TOP10_FINAL[g.regime])) + shift)
    age_ok = (month_end[:, None] - g.first[None, :] >= 63) | (g.first[None, :] == 0)
    alive = (g.first[None, :] <= month_end[:, None]) & (g.last[None, :] >= month_end[:, None])
    caps = np.where(alive & age_ok, np.exp(lcap_m - 20.0), 0.0)
    gm = caps[:, g.mega]
    rest = np.sort(caps[:, ~g.mega], axis=1)[:, ::-1][:, : p.n_large]
    rc = np.concatenate([np.zeros((len(month_end), 1)), np.cumsum(rest, axis=1)], axis=1)
    ng = gm.shape[1]
    nl = p.n_large

    def share(logk):
        gs = np.sort(gm * np.exp(logk)[:, None], axis=1)[:, ::-1]
        gc = np.concatenate([np.zeros((len(month_end), 1)), np.cumsum(gs, axis=1)], axis=1)
        j = np.arange(min(ng, 10) + 1)
        top10 = (gc[:, j] + rc[:, np.minimum(10 - j, rc.shape[1] - 1)]).max(axis=1)
        j2 = np.arange(ng + 1)
        tot = (gc[:, j2] + rc[:, np.clip(nl - j2, 0, rc.shape[1] - 1)]).max(axis=1)
        return top10 / tot

    lo = np.full(len(month_end), -4.0)
    hi = np.full(len(month_end), 4.0)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        up = share(mid) < target
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    logk = 0.5 * (lo + hi)
    daily = np.interp(np.arange(g.T), month_end, logk)
    return daily
