"""Quarterly fundamentals (with filing lags) and the credit series of the synthetic market."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from broadening.providers.synthetic.calibration import (
    BUSLOANS_FINAL,
    BUSLOANS_KNOTS,
    HY_OAS_FINAL,
    HY_OAS_KNOTS,
    PRIVATE_CREDIT_FINAL,
    PRIVATE_CREDIT_KNOTS,
    SECTOR_NAMES,
    SECTORS,
    SMALL_REL_PE_FINAL,
    SMALL_REL_PE_KNOTS,
    TOP10_FINAL,
    TOP10_KNOTS,
    interp_knots,
)
from broadening.providers.synthetic.state import GeneratorState


def fundamentals_table(g: GeneratorState, lcap_m: np.ndarray,
                       shares_at: Callable[[np.ndarray], np.ndarray]) -> pd.DataFrame:
    """Quarterly fundamentals from month-end log caps ``lcap_m`` (months x securities).

    ``shares_at(rows)`` gives the raw share counts on those day rows (rows x securities).
    """
    rng, p, T, N = g.rng, g.p, g.T, g.N
    start = pd.Timestamp(p.start)
    qe = pd.date_range(start - pd.DateOffset(years=1), p.end, freq="QE")
    Q = len(qe)
    qd = qe.values.astype("datetime64[D]")
    tq = np.clip(np.searchsorted(g.days, qd, side="right") - 1, 0, T - 1)
    # Trailing 6-month mean of month-end log caps: a smooth earnings base.
    M = len(g.month_end)
    cs = np.vstack([np.zeros((1, N)), np.cumsum(lcap_m, axis=0)])
    mq = np.searchsorted(g.month_end, tq, side="right")  # months up to and incl. tq
    lo = np.maximum(mq - 6, 0)
    n = np.maximum(mq - lo, 1)[:, None]
    sm = (cs[np.minimum(mq, M)] - cs[lo]) / n
    pre = mq == 0
    sm[pre] = lcap_m[0][None, :] - 0.02 * (pre.sum() - np.arange(pre.sum()))[:, None]
    # From 2025 the earnings base is half trend (2% a quarter), half the price-driven
    # path, so the regime overlay below sets the direction of earnings momentum.
    q0 = np.flatnonzero(qd == np.datetime64("2024-12-31"))
    if len(q0):
        k = np.arange(Q) - q0[0]
        late = k > 0
        trend = sm[q0[0]][None, :] + 0.02 * k[late][:, None]
        sm[late] = 0.5 * trend + 0.5 * sm[late]
    base_cap = np.exp(sm)

    sec_pe = np.array([SECTORS[s][3] for s in SECTOR_NAMES])[g.sector]
    pe_i = 0.95 * sec_pe * np.exp(rng.normal(0, 0.2, N) + 0.06 * g.quality)
    rel = interp_knots(qd, SMALL_REL_PE_KNOTS, SMALL_REL_PE_FINAL[g.regime])
    # Size group at each quarter: outside the large-cap index's size range.
    rank_q = np.argsort(np.argsort(-lcap_m[np.clip(mq - 1, 0, M - 1)], axis=1), axis=1)
    is_small = rank_q >= p.n_large
    top_share = interp_knots(qd, TOP10_KNOTS, TOP10_FINAL[g.regime])
    mega_prem = 1.0 + 2.2 * np.maximum(top_share - 0.19, 0.0)
    pe = pe_i[None, :] * np.where(is_small, rel[:, None], 1.0)
    pe = np.where(g.mega[None, :], pe * mega_prem[:, None], pe)
    pe = np.clip(pe * np.exp(rng.normal(0, 0.05, (Q, N))), 7.0, 60.0)

    # Earnings-momentum overlay in the last quarters (cumulative growth in log).
    gq = np.zeros((Q, N))
    steps = {"2024-12-31": (0.0, 0.0), "2025-03-31": (0.02, 0.0), "2025-06-30": (0.06, 0.01),
             "2025-09-30": (0.12, 0.0), "2025-12-31": (0.12, 0.0)}
    sgn = 1.0 if g.regime == "broadening" else -1.0
    for d, (broad, mega_g) in steps.items():
        k = np.flatnonzero(qd == np.datetime64(d))
        if len(k):
            gq[k[0], ~g.mega] = sgn * broad
            gq[k[0], g.mega] = -sgn * (broad * 0.8) + mega_g
    gq = np.cumsum(gq, axis=0)

    ni_target = base_cap / (4.0 * pe) * np.exp(gq)
    sec_m = np.array([SECTORS[s][4] for s in SECTOR_NAMES])[g.sector]
    m_base = np.clip(sec_m + 0.04 * g.quality + rng.normal(0, 0.03, N), 0.04, 0.55)
    loss_score = g.quality + rng.normal(0, 0.5, N)
    loss = np.where(g.small0, loss_score < -1.5, loss_score < -2.3) & ~g.mega
    # Loss-makers that grow into the top of the large-cap range turn profitable.
    loss_q = loss[None, :] & (rank_q >= int(0.6 * p.n_large))
    roe = np.clip(0.13 + 0.05 * g.quality + rng.normal(0, 0.03, N), 0.06, 0.6)
    de = np.clip(np.exp(-0.3 - 0.45 * g.quality + rng.normal(0, 0.35, N)), 0.02, 3.0)
    fin_sec = g.sector == SECTOR_NAMES.index("Financials")
    de[fin_sec] *= 2.0
    de[g.bdc] = 1.1
    de[loss] *= 2.5

    book = 4.0 * ni_target / roe[None, :]
    book = np.where(loss_q, base_cap * rng.uniform(0.25, 0.8, N)[None, :], book)
    debt = book * de[None, :]
    interest = debt * 0.0125
    # Margins: AI adopters expand in the broadening regime from 2024 Q3.
    ramp = np.clip((qd - np.datetime64("2024-06-30")).astype(float) / 450.0, 0.0, 1.0)
    adopter = g.ai == "adopter"
    infra = g.ai == "infrastructure"
    dm = np.zeros((Q, N))  # relative margin change
    if g.regime == "broadening":
        dm[:, adopter] = 0.30 * ramp[:, None]
        dm[:, infra] = -0.08 * ramp[:, None]
    else:
        dm[:, infra] = 0.15 * ramp[:, None]
    m_q = m_base[None, :] * (1.0 + dm + rng.normal(0, 0.04, (Q, N)))
    rev = (ni_target / 0.78 + interest) / m_base[None, :]
    loss_m = -rng.uniform(0.02, 0.12, N)
    rev = np.where(loss_q, base_cap * 0.06 * rng.uniform(0.5, 1.5, N)[None, :], rev)
    m_q = np.where(loss_q, loss_m[None, :] + rng.normal(0, 0.01, (Q, N)), m_q)
    oi = rev * m_q
    pretax = oi - interest
    ni = np.where(pretax > 0, 0.78 * pretax, pretax)
    cap_int = np.where(infra, 0.12, 0.05)[None, :] * (1 + np.where(infra & (g.regime == "concentrating"), 1.0, 0.5)[None, :] * ramp[:, None])
    capex = rev * cap_int
    eps = ni / shares_at(tq)

    # Filing lags.
    q4 = (qe.month.values == 12)[:, None]
    lag = np.where(q4, rng.integers(45, 76, (Q, N)), rng.integers(25, 46, (Q, N)))
    avail = qd[:, None] + lag.astype("timedelta64[D]")
    first_d = g.days[g.first]
    last_d = np.where(g.last < T - 1, g.days[g.last], g.days[-1])
    ok = (avail <= last_d[None, :]) & ((qd[:, None] >= first_d[None, :]) | (g.first == 0)[None, :])
    qi, si = np.nonzero(ok.T)
    df = pd.DataFrame({
        "security_id": g.ids[qi],
        "period_end": qd[si].astype("datetime64[ns]"),
        "available_date": avail[si, qi].astype("datetime64[ns]"),
        "revenue": rev[si, qi],
        "net_income": ni[si, qi],
        "eps": eps[si, qi],
        "book_equity": book[si, qi],
        "total_debt": debt[si, qi],
        "operating_income": oi[si, qi],
        "capex": capex[si, qi],
    })
    return df



def credit_series(g: GeneratorState) -> pd.DataFrame:
    rng, days = g.rng, g.days
    rg = g.regime
    oas = interp_knots(days, HY_OAS_KNOTS, HY_OAS_FINAL[rg], log=True)
    e = rng.normal(0, 0.025, len(days))
    ou = np.empty(len(days))
    x = 0.0
    for t in range(len(days)):
        x = 0.97 * x + e[t]
        ou[t] = x
    # Pin the noise to zero at the knots (a bridge) so the extremes land on the figures.
    kd = np.array([np.datetime64(d) for d, _ in (*HY_OAS_KNOTS, *HY_OAS_FINAL[rg])])
    kidx = np.unique(np.concatenate([[0], np.searchsorted(days, kd[(kd > days[0]) & (kd < days[-1])]), [len(days) - 1]]))
    ou -= np.interp(np.arange(len(days)), kidx, ou[kidx])
    oas = np.clip(oas * np.exp(ou), 2.35, 21.8)
    months = pd.date_range(pd.Timestamp(g.p.start).to_period("M").to_timestamp(), g.p.end, freq="MS")
    md = months.values.astype("datetime64[D]")
    bl = interp_knots(md, BUSLOANS_KNOTS, BUSLOANS_FINAL[rg]) * np.exp(rng.normal(0, 0.002, len(md)))
    qs = pd.date_range(g.p.start, g.p.end, freq="QE")
    qd = qs.values.astype("datetime64[D]")
    pc = interp_knots(qd, PRIVATE_CREDIT_KNOTS, PRIVATE_CREDIT_FINAL[rg], log=True)
    pc = pc * np.exp(rng.normal(0, 0.01, len(qd)))
    g.oas = oas
    return pd.DataFrame({
        "series_id": np.repeat(["BUSLOANS", "BAMLH0A0HYM2", "PRIVATE_CREDIT_AUM"], [len(md), len(days), len(qd)]),
        "date": np.concatenate([md, days, qd]).astype("datetime64[ns]"),
        "value": np.concatenate([bl, oas, pc]),
    })
