"""The playbook's TOML configuration: documented defaults and a strict loader.

Every key has a default (below, and commented in ``examples/playbook.toml``, which
holds exactly these defaults). :func:`load_playbook_config` rejects, before any work
starts, with a :class:`~broadening.errors.ConfigError` naming the file and the key:
unknown sections or keys, wrong types, sleeve shares that do not sum to one, negative
caps, costs or budgets, out-of-range values and impossible constraints (sector lower
bounds summing above one, a lower bound above an upper bound). :meth:`PlaybookConfig.check_market`
adds the checks that need the data (max weight x investable names < 1, sector bounds on
sectors the data does not have, upper bounds that cannot hold all the weight).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from broadening.backtest.engine import CostModel
from broadening.backtest.schedule import FREQUENCIES
from broadening.config import read_toml
from broadening.errors import ConfigError

if TYPE_CHECKING:
    from broadening.market import Market

SLEEVES = ("equal_weight_core", "quality_domestic_cyclicals", "ai_adopters", "small_cap_quality", "bdcs")


@dataclass(frozen=True)
class PortfolioSection:
    index: str = "sp500"
    schedule: str = "monthly"


@dataclass(frozen=True)
class CostsSection:
    bps: float = 10.0
    spread_bps: float = 5.0
    spread_ref_cap: float = 1e10
    max_spread_bps: float = 50.0
    cash_rate: float = 0.0


@dataclass(frozen=True)
class TrimSection:
    top_k: int = 25
    mode: str = "cut"
    cap: float = 0.04
    cut: float = 0.6
    regime_scaling: bool = True
    regime_floor: float = 0.8
    concentration_ref: float = 0.30
    concentration_max: float = 1.5


@dataclass(frozen=True)
class SleevesSection:
    equal_weight_core: float = 0.30
    quality_domestic_cyclicals: float = 0.25
    ai_adopters: float = 0.20
    small_cap_quality: float = 0.15
    bdcs: float = 0.10

    def shares(self) -> dict[str, float]:
        return {s: float(getattr(self, s)) for s in SLEEVES}


@dataclass(frozen=True)
class ConstraintsSection:
    max_weight: float = 0.05
    turnover_budget: float = 0.0
    tracking_error_budget: float = 0.05
    te_lookback: int = 252
    te_shrinkage: float = 0.25
    sector_bounds: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class MomentumSection:
    lookback: int = 252
    skip: int = 21
    quantile: float = 0.2


@dataclass(frozen=True)
class MetricsSection:
    risk_free: float = 0.0


@dataclass(frozen=True)
class PlaybookConfig:
    """The whole playbook configuration (see ``examples/playbook.toml`` for every key)."""

    portfolio: PortfolioSection = field(default_factory=PortfolioSection)
    costs: CostsSection = field(default_factory=CostsSection)
    trim: TrimSection = field(default_factory=TrimSection)
    sleeves: SleevesSection = field(default_factory=SleevesSection)
    constraints: ConstraintsSection = field(default_factory=ConstraintsSection)
    momentum: MomentumSection = field(default_factory=MomentumSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    source: str = "<built-in defaults>"

    def cost_model(self) -> CostModel:
        c = self.costs
        return CostModel(bps=c.bps, spread_bps=c.spread_bps, spread_ref_cap=c.spread_ref_cap, max_spread_bps=c.max_spread_bps)

    def check_market(self, market: Market, n_investable: int) -> None:
        """Checks that need the data, run before any backtest work.

        Parameters
        ----------
        market : Market
        n_investable : int
            Fewest names the playbook could hold on a rebalance date.
        """
        c = self.constraints
        if n_investable and c.max_weight * n_investable < 1.0 - 1e-12:
            raise ConfigError(
                f"{self.source}: key 'constraints.max_weight': {c.max_weight} x {n_investable} investable names "
                f"= {c.max_weight * n_investable:.3f} < 1, the portfolio cannot be fully invested"
            )
        if c.sector_bounds:
            present = set(market.securities["sector"].fillna("Unknown").astype(str))
            for s in c.sector_bounds:
                if s not in present:
                    raise ConfigError(
                        f"{self.source}: key 'constraints.sector_bounds.{s}': no security in the data has sector "
                        f"'{s}' (sectors: {', '.join(sorted(present))})"
                    )
            if present <= set(c.sector_bounds) and sum(hi for _, hi in c.sector_bounds.values()) < 1.0 - 1e-12:
                raise ConfigError(
                    f"{self.source}: key 'constraints.sector_bounds': upper bounds cover every sector and sum to "
                    f"{sum(hi for _, hi in c.sector_bounds.values()):.3f} < 1, the weight cannot all be placed"
                )


_SECTIONS = {
    "portfolio": PortfolioSection,
    "costs": CostsSection,
    "trim": TrimSection,
    "sleeves": SleevesSection,
    "constraints": ConstraintsSection,
    "momentum": MomentumSection,
    "metrics": MetricsSection,
}


def _err(source: str, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{source}: key '{key}': {msg}")


def _typed(source: str, key: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _err(source, key, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _err(source, key, f"expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise _err(source, key, f"expected a number, got {value!r}")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise _err(source, key, f"expected a string, got {value!r}")
        return value
    return value


def _sector_bounds(source: str, raw: Any) -> dict[str, tuple[float, float]]:
    if not isinstance(raw, dict):
        raise _err(source, "constraints.sector_bounds", "expected a table of sector = [min, max]")
    out = {}
    for sector, b in raw.items():
        key = f"constraints.sector_bounds.{sector}"
        if (not isinstance(b, list) or len(b) != 2
                or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in b)):
            raise _err(source, key, f"expected [min, max] as two numbers, got {b!r}")
        lo, hi = float(b[0]), float(b[1])
        if not (0.0 <= lo <= hi <= 1.0):
            raise _err(source, key, f"expected 0 <= min <= max <= 1, got [{lo}, {hi}]")
        out[str(sector)] = (lo, hi)
    if sum(lo for lo, _ in out.values()) > 1.0 + 1e-12:
        raise _err(source, "constraints.sector_bounds",
                   f"lower bounds sum to {sum(lo for lo, _ in out.values()):.3f} > 1, they cannot all hold")
    return out


def parse_playbook_config(data: dict, source: str = "<dict>") -> PlaybookConfig:
    """Validate a parsed TOML document and build the config (see module docstring)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a TOML document")
    built = {}
    for section, value in data.items():
        if section not in _SECTIONS:
            raise _err(source, section, f"unknown section (known: {', '.join(_SECTIONS)})")
        if not isinstance(value, dict):
            raise _err(source, section, "expected a table")
        cls = _SECTIONS[section]
        defaults = cls()
        known = {f.name for f in fields(cls)}
        kwargs = {}
        for key, v in value.items():
            full = f"{section}.{key}"
            if key not in known:
                raise _err(source, full, f"unknown key (known in [{section}]: {', '.join(sorted(known))})")
            if section == "constraints" and key == "sector_bounds":
                kwargs[key] = _sector_bounds(source, v)
            else:
                kwargs[key] = _typed(source, full, v, getattr(defaults, key))
        built[section] = cls(**kwargs)
    cfg = PlaybookConfig(**built, source=source)
    _validate(cfg)
    return cfg


def _validate(cfg: PlaybookConfig) -> None:
    s = cfg.source

    def need(ok: bool, key: str, msg: str) -> None:
        if not ok:
            raise _err(s, key, msg)

    p, c, t, k, m = cfg.portfolio, cfg.costs, cfg.trim, cfg.constraints, cfg.momentum
    need(p.schedule in FREQUENCIES and p.schedule != "daily", "portfolio.schedule",
         f"expected one of weekly, monthly, quarterly, annual, got {p.schedule!r}")
    need(bool(p.index), "portfolio.index", "expected an index id")
    for key in ("bps", "spread_bps", "max_spread_bps"):
        need(getattr(c, key) >= 0, f"costs.{key}", f"must be >= 0, got {getattr(c, key)}")
    need(c.spread_ref_cap > 0, "costs.spread_ref_cap", f"must be > 0, got {c.spread_ref_cap}")
    need(c.cash_rate > -1, "costs.cash_rate", f"must be > -1, got {c.cash_rate}")
    need(t.top_k >= 1, "trim.top_k", f"must be >= 1, got {t.top_k}")
    need(t.mode in ("cap", "cut"), "trim.mode", f"expected 'cap' or 'cut', got {t.mode!r}")
    need(0 < t.cap <= 1, "trim.cap", f"must be in (0, 1], got {t.cap}")
    need(0 <= t.cut <= 1, "trim.cut", f"must be in [0, 1], got {t.cut}")
    need(0 <= t.regime_floor <= 1, "trim.regime_floor", f"must be in [0, 1], got {t.regime_floor}")
    need(0 <= t.concentration_ref <= 1, "trim.concentration_ref", f"must be in [0, 1] (0 = off), got {t.concentration_ref}")
    need(t.concentration_max >= 1, "trim.concentration_max", f"must be >= 1, got {t.concentration_max}")
    shares = cfg.sleeves.shares()
    for name, v in shares.items():
        need(v >= 0, f"sleeves.{name}", f"must be >= 0, got {v}")
    total = sum(shares.values())
    need(abs(total - 1.0) <= 1e-6, "sleeves", f"shares must sum to 1, they sum to {total:.6f}")
    need(0 < k.max_weight <= 1, "constraints.max_weight", f"must be in (0, 1], got {k.max_weight}")
    need(k.turnover_budget >= 0, "constraints.turnover_budget", f"must be >= 0 (0 = no budget), got {k.turnover_budget}")
    need(k.tracking_error_budget >= 0, "constraints.tracking_error_budget",
         f"must be >= 0 (0 = no budget), got {k.tracking_error_budget}")
    need(k.te_lookback >= 20, "constraints.te_lookback", f"must be >= 20 days, got {k.te_lookback}")
    need(0 <= k.te_shrinkage <= 1, "constraints.te_shrinkage", f"must be in [0, 1], got {k.te_shrinkage}")
    for sector, (lo, _hi) in k.sector_bounds.items():
        need(lo <= 1.0, f"constraints.sector_bounds.{sector}", "lower bound above 1")
    need(m.lookback > m.skip >= 0, "momentum.skip", f"must be >= 0 and < momentum.lookback ({m.lookback}), got {m.skip}")
    need(0 < m.quantile <= 1, "momentum.quantile", f"must be in (0, 1], got {m.quantile}")
    need(cfg.metrics.risk_free > -1, "metrics.risk_free", f"must be > -1, got {cfg.metrics.risk_free}")
    _plausible(cfg)


#: Plausible range (inclusive) of each numeric playbook key (docs/reliability.md); a value
#: outside (20,000 bps of costs, a risk-free rate of 1e300) is refused before any work.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "costs.bps": (0, 1000), "costs.spread_bps": (0, 1000), "costs.max_spread_bps": (0, 1000),
    "costs.spread_ref_cap": (1, 1e15), "costs.cash_rate": (-0.5, 1), "trim.top_k": (1, 1000),
    "constraints.turnover_budget": (0, 2), "constraints.tracking_error_budget": (0, 1),
    "constraints.te_lookback": (20, 2520), "momentum.lookback": (2, 2520), "momentum.skip": (0, 2519),
    "metrics.risk_free": (-0.5, 1),
}


def _plausible(cfg: PlaybookConfig) -> None:
    for key, (lo, hi) in PLAUSIBLE.items():
        section, name = key.split(".")
        v = getattr(getattr(cfg, section), name)
        if not lo <= v <= hi:
            raise _err(cfg.source, key, f"expected a plausible value from {lo:g} to {hi:g}, got {v!r}")


def load_playbook_config(path: str | Path | None = None) -> PlaybookConfig:
    """Read and validate a playbook TOML file (defaults when ``path`` is None).

    Raises
    ------
    ConfigError
        Naming the file and key, for anything listed in the module docstring.
    """
    if path is None:
        return PlaybookConfig()
    return parse_playbook_config(read_toml(path), source=str(Path(path)))


def investable_count(market: Market, masks: list[np.ndarray], positions: np.ndarray) -> int:
    """Fewest distinct names the union of ``masks`` admits on a rebalance date (dates with none skipped)."""
    if not masks or len(positions) == 0:
        return 0
    union = np.zeros((len(positions), market.shape[1]), dtype=bool)
    for mk in masks:
        union |= mk[positions]
    counts = union.sum(axis=1)
    counts = counts[counts > 0]
    return int(counts.min()) if len(counts) else 0
