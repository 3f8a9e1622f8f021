"""All signal families in one wide, date-indexed frame (cached per market and config)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from broadening.baskets import cached_panel, config_or_default
from broadening.config import Config
from broadening.errors import ConfigError
from broadening.market import Market
from broadening.signals.claims import REGISTRY
from broadening.signals.history import percentile_frame, zscore_frame

#: Claim id -> the family function that measures it (from the claims registry).
FAMILIES: dict[str, Callable[[Market, Config], pd.DataFrame]] = {cid: c.family for cid, c in REGISTRY.items()}


def family(market: Market, claim: str, cfg: Config | None = None) -> pd.DataFrame:
    """One claim's metrics, a frame indexed by date (cached on the market: treat as read-only)."""
    cfg = config_or_default(cfg)
    fn = REGISTRY[claim].family  # the registry, not the FAMILIES snapshot: a claim added later works too
    return cached_panel(market, ("family", claim, cfg.fingerprint), lambda: fn(market, cfg))


#: Families in the order they are handed to threads: the ones that build the most shared
#: panels (fundamental flags, index contributions, the small-cap basket) start first;
#: claims not named here follow in registry order.
_SCHEDULE = ("C5", "C4", "C9", "C2", "C10", "C8", "C3", "C1", "C7", "C6")


def default_workers() -> int:
    """Threads for :func:`compute_families`: ``BROADENING_THREADS``, else the CPU count (at most 4)."""
    env = os.environ.get("BROADENING_THREADS", "").strip()
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise ConfigError(f"$BROADENING_THREADS: expected a whole number of threads, got {env!r}") from None
    return max(1, min(4, os.cpu_count() or 1))


def compute_families(market: Market, cfg: Config | None = None, *, workers: int | None = None,
                     claims: Iterable[str] | None = None) -> dict[str, pd.DataFrame]:
    """Every claim's family of metrics, computed on ``workers`` threads (cached on the market).

    The families share panels (index weights, baskets, fundamentals) that the market
    builds once under a per-panel lock; numpy releases the GIL in its array loops, so
    families run in parallel. The results do not depend on the number of threads.

    Parameters
    ----------
    workers : int, optional
        Threads (default :func:`default_workers`); 1 computes serially.
    claims : iterable of str, optional
        Only these claims (default all of C1-C10).

    Returns
    -------
    dict
        Claim id -> frame indexed by date, in claim order.
    """
    cfg = config_or_default(cfg)
    wanted = set(REGISTRY) if claims is None else set(claims)
    unknown = wanted - set(REGISTRY)
    if unknown:
        raise KeyError(f"unknown claims {sorted(unknown)} (known: {', '.join(REGISTRY)})")
    workers = default_workers() if workers is None else max(1, int(workers))
    if workers > 1 and len(wanted) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="broadening-signals") as pool:
            order = [c for c in _SCHEDULE if c in wanted] + [c for c in REGISTRY if c in wanted and c not in _SCHEDULE]
            for f in [pool.submit(family, market, c, cfg) for c in order]:
                f.result()  # re-raises a family's error here
    return {claim: family(market, claim, cfg) for claim in REGISTRY if claim in wanted}


def compute_signals(market: Market, cfg: Config | None = None, *, stats: bool = False,
                    workers: int | None = None) -> pd.DataFrame:
    """Every metric of every registered claim (C1-C10) per date.

    Parameters
    ----------
    market : Market
    cfg : Config, optional
        Classification config (defaults to the shipped one).
    stats : bool, default False
        Also return each metric's trailing percentile and z-score against its own history
        (``history.window`` days, ``history.min_periods`` minimum).
    workers : int, optional
        Threads for the families (see :func:`compute_families`).

    Returns
    -------
    DataFrame, shape (T, M)
        Indexed by date; columns ``"C1.top10_share"``, ``"C2.pe_gap"``... With
        ``stats=True`` the columns are a MultiIndex ``(metric, stat)`` with stat in
        ``value``, ``percentile``, ``zscore``.
    """
    cfg = config_or_default(cfg)
    parts = [f.rename(columns=lambda c, claim=claim: f"{claim}.{c}")
             for claim, f in compute_families(market, cfg, workers=workers).items()]
    values = pd.concat(parts, axis=1)
    if not stats:
        return values
    h = cfg.history
    out = pd.concat(
        {"value": values, "percentile": percentile_frame(values, h.window, h.min_periods),
         "zscore": zscore_frame(values, h.window, h.min_periods)},
        axis=1,
    )
    return out.swaplevel(0, 1, axis=1).sort_index(axis=1, level=0, sort_remaining=False)
