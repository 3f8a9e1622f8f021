"""Index membership of the synthetic market: quarterly, size-ranked, with hysteresis."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from broadening.providers.synthetic.state import GeneratorState


def membership_table(g: GeneratorState, cap_at: Callable[[int], np.ndarray]) -> pd.DataFrame:
    """Quarterly size-ranked reconstitution with hysteresis; delisted names leave."""
    p, T, N = g.p, g.T, g.N
    q_end = np.flatnonzero(np.diff(g.dates.quarter.values, append=0) != 0)
    reb = np.unique(np.concatenate([[0], q_end[q_end + 1 < T - 1] + 1]))
    R = len(reb)
    large = np.zeros((R, N), dtype=bool)
    small = np.zeros((R, N), dtype=bool)
    cur_l = np.zeros(N, dtype=bool)
    cur_s = np.zeros(N, dtype=bool)
    for k, t in enumerate(reb):
        elig = (g.first <= t) & (g.last >= t) & ((t - g.first >= 63) | (g.first == 0)) & ((g.last > t + 5) | (g.last == T - 1))
        cap_t = cap_at(t)
        for size, hyst, cur, excl in ((p.n_large, 1.25, cur_l, None), (p.n_small, 1.2, cur_s, cur_l)):
            # BDCs are never large-cap index members (as in the real S&P 500).
            ok = elig & ~g.bdc if excl is None else elig & ~excl
            c = np.where(ok, cap_t, -1.0)
            order = np.argsort(-c, kind="stable")
            rank = np.empty(N, dtype=np.int64)
            rank[order] = np.arange(N)
            keep = cur & ok & (rank < int(size * hyst))
            if keep.sum() > size:
                keep &= rank <= np.sort(rank[keep])[size - 1]
            need = size - int(keep.sum())
            cand = order[ok[order] & ~keep[order]][:need]
            keep[cand] = True
            if excl is None:
                cur_l = keep
            else:
                cur_s = keep
        large[k], small[k] = cur_l, cur_s
    g.reb, g.reb_large, g.reb_small = reb, large, small
    frames = []
    for idx_id, dec in (("sp500", large), ("smallmid", small)):
        d = np.diff(dec.T.astype(np.int8), axis=1, prepend=0, append=0)
        s_sec, s_k = np.nonzero(d == 1)
        e_sec, e_k = np.nonzero(d == -1)
        # Out at the next reconstitution, or the day after the last trade if delisted first.
        end_t = np.where(e_k < R, reb[np.minimum(e_k, R - 1)], T)
        end_t = np.minimum(end_t, g.last[e_sec] + 1)
        end = np.where(end_t < T, g.days[np.minimum(end_t, T - 1)], np.datetime64("NaT"))
        frames.append(pd.DataFrame({
            "index_id": idx_id,
            "security_id": g.ids[s_sec],
            "start": g.days[reb[s_k]].astype("datetime64[ns]"),
            "end": end.astype("datetime64[ns]"),
        }))
    return pd.concat(frames, ignore_index=True)


def member_at(g: GeneratorState, t: int, index: str = "sp500") -> np.ndarray:
    k = int(np.searchsorted(g.reb, t, side="right") - 1)
    dec = g.reb_large if index == "sp500" else g.reb_small
    return dec[k] & (g.first <= t) & (g.last >= t)

