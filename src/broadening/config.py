"""The classification and scorecard configuration (TOML, shipped defaults, user-overridable).

The defaults live in ``broadening/config/classification.toml`` (every key commented).
:func:`load_config` deep-merges a user file over them, so a user file holds only the keys
it changes, then checks every key and value: an unknown key or a bad value raises
:class:`~broadening.errors.ConfigError` naming the file and the dotted key.

Examples
--------
>>> from broadening.config import load_config
>>> cfg = load_config()
>>> cfg.universe.k
10
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from broadening.errors import ConfigError
from broadening.schema import AI_LAYERS

DEFAULT_PATH = Path(__file__).with_name("config") / "classification.toml"

#: Plausible ranges shared by many keys (docs/reliability.md): a window of trading days
#: spans at most 100 years; a count of names at most 10,000.
MAX_DAYS = 25_200
MAX_NAMES = 10_000

# Tables whose keys are user data (sector names, tickers, industries), not config keys.
_OPEN_MAPS = {"sectors.class", "ai_layer.tickers", "ai_layer.industries"}


@dataclass(frozen=True)
class UniverseConfig:
    large_index: str
    small_index: str
    k: int
    k_report: tuple[int, ...]
    basket_universe: str


@dataclass(frozen=True)
class SectorConfig:
    classes: dict[str, str]

    def cyclical(self) -> set[str]:
        """Lower-cased cyclical sector names."""
        return {s.lower() for s, c in self.classes.items() if c == "cyclical"}

    def defensive(self) -> set[str]:
        """Lower-cased defensive sector names."""
        return {s.lower() for s, c in self.classes.items() if c == "defensive"}


@dataclass(frozen=True)
class DomesticCyclicalConfig:
    sectors: tuple[str, ...]
    industry_keywords: tuple[str, ...]
    domestic_revenue_min: float
    missing_domestic_share: str


@dataclass(frozen=True)
class MegacapTechConfig:
    sectors: tuple[str, ...]


@dataclass(frozen=True)
class AILayerConfig:
    tickers: dict[str, str]
    industries: dict[str, str]


@dataclass(frozen=True)
class QualityConfig:
    profitable_ttm: bool
    min_roe: float
    max_debt_to_equity: float
    junk_debt_to_equity: float


@dataclass(frozen=True)
class SmallCapQualityConfig:
    top_fraction: float
    require_profitable: bool
    require_positive_growth: bool
    growth_lag_days: int
    reconstitute: str


@dataclass(frozen=True)
class HistoryConfig:
    window: int
    min_periods: int


@dataclass(frozen=True)
class SignalConfig:
    trend_window: int
    breadth_window: int
    moving_average: int
    snap_windows: tuple[int, ...]
    crowding_window: int
    growth_lag_days: int
    acceleration_lag_days: int
    credit_growth_days: int


@dataclass(frozen=True)
class HysteresisConfig:
    smooth_span: int
    enter_diffusion: float
    exit_diffusion: float
    enter_scarcity: float
    exit_scarcity: float
    min_days: int
    min_dwell: int = 1


@dataclass(frozen=True)
class RegimeConfig:
    weights: dict[str, float]
    hysteresis: HysteresisConfig
    horizon: int = 252
    min_history: int = 504


@dataclass(frozen=True)
class Config:
    """The whole classification/scorecard configuration.

    Attributes
    ----------
    universe, sectors, domestic_cyclicals, megacap_tech, ai_layer, quality,
    small_cap_quality, history, signals, regime :
        One frozen section per TOML table (see the shipped TOML for each key's meaning).
    scorecard : dict of str to dict of str to float
        Verdict thresholds per claim id (``"C1"`` ... ``"C10"``).
    source : str
        Where the user overrides came from (``"defaults"`` or the file path).
    raw : dict
        The merged TOML as a plain dict.
    """

    universe: UniverseConfig
    sectors: SectorConfig
    domestic_cyclicals: DomesticCyclicalConfig
    megacap_tech: MegacapTechConfig
    ai_layer: AILayerConfig
    quality: QualityConfig
    small_cap_quality: SmallCapQualityConfig
    history: HistoryConfig
    signals: SignalConfig
    scorecard: dict[str, dict[str, float]]
    regime: RegimeConfig
    source: str
    raw: dict

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @cached_property
    def fingerprint(self) -> str:
        """A stable string identifying the settings (used as a cache key)."""
        return json.dumps(self.raw, sort_keys=True, default=str)

    def check_large_index(self, stored_ids: Iterable[object]) -> None:
        """Raise unless ``universe.large_index`` is among ``stored_ids`` (or nothing is stored).

        Without this, a typo in the index id made every security count as a member.

        Raises
        ------
        ConfigError
            Naming the key and the index ids the warehouse does hold.
        """
        stored = sorted({str(i) for i in stored_ids})
        if stored and self.universe.large_index not in stored:
            raise ConfigError(f"{self.source}: key 'universe.large_index': no membership stored for index "
                              f"{self.universe.large_index!r}; the warehouse has {', '.join(map(repr, stored))}")

    def with_overrides(self, overrides: dict[str, Any]) -> Config:
        """A new Config with ``overrides`` (a nested dict like the TOML) merged in."""
        merged = copy.deepcopy(self.raw)
        _merge(merged, overrides, "<overrides>", "")
        return _build(merged, "<overrides>")


def read_toml(path: str | Path, what: str = "config file") -> dict:
    """Parse a TOML file; a missing or malformed one is a :class:`ConfigError` naming it.

    Parameters
    ----------
    path : str or Path
    what : str, default "config file"
        What the file is, for the not-found message (e.g. ``"grid file"``).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: {what} not found")
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.object[exc.start:exc.start + 1]!r} at offset {exc.start}); "
                          "TOML files are UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read it ({exc.strerror or exc})") from None


def _defaults() -> dict:
    with open(DEFAULT_PATH, "rb") as fh:
        return tomllib.load(fh)


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "str"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "table"
    return type(v).__name__


def _merge(base: dict, user: dict, source: str, prefix: str) -> None:
    """Deep-merge ``user`` into ``base`` in place, checking keys and kinds against ``base``."""
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if prefix.rstrip(".") in _OPEN_MAPS:
            if not isinstance(value, str):
                raise ConfigError(f"{source}: key '{dotted}': expected a string, got {value!r}")
            base[key] = value
            continue
        if key not in base:
            known = ", ".join(sorted(base)) or "none"
            raise ConfigError(f"{source}: unknown key '{dotted}' (known keys here: {known})")
        want, got = _kind(base[key]), _kind(value)
        if want != got:
            raise ConfigError(f"{source}: key '{dotted}': expected a {want}, got {value!r}")
        if want == "number" and not math.isfinite(value):
            # nan compares false with everything, so a nan threshold would silently flip verdicts
            raise ConfigError(f"{source}: key '{dotted}': expected a finite number, got {value!r}")
        if want == "table":
            if dotted in _OPEN_MAPS:
                # a user map replaces the shipped one for these (e.g. their own AI tags)
                base[key] = {}
            _merge(base[key], value, source, dotted + ".")
        elif want == "list":
            if base[key] and value:
                item = _kind(base[key][0])
                bad = [v for v in value if _kind(v) != item or (item == "number" and not math.isfinite(v))]
                if bad:
                    raise ConfigError(f"{source}: key '{dotted}': expected a list of {item}s, got {bad[0]!r}")
            base[key] = list(value)
        else:
            base[key] = value


def _check(cond: bool, source: str, key: str, expected: str, got: Any) -> None:
    if not cond:
        raise ConfigError(f"{source}: key '{key}': expected {expected}, got {got!r}")


def _build(d: dict, source: str) -> Config:
    u = d["universe"]
    for key in ("k",):
        _check(isinstance(u[key], int) and 1 <= u[key] <= MAX_NAMES, source, f"universe.{key}",
               f"an integer from 1 to {MAX_NAMES:,}", u[key])
    _check(all(isinstance(x, int) and 1 <= x <= MAX_NAMES for x in u["k_report"]) and len(u["k_report"]) > 0,
           source, "universe.k_report", f"a non-empty list of integers from 1 to {MAX_NAMES:,}", u["k_report"])
    _check(u["basket_universe"] in ("large", "small", "large+small"), source,
           "universe.basket_universe", "one of large, small, large+small", u["basket_universe"])
    for name in ("large_index", "small_index"):
        _check(bool(u[name].strip()), source, f"universe.{name}", "a non-empty index id", u[name])

    classes = d["sectors"]["class"]
    for s, c in classes.items():
        _check(c in ("cyclical", "defensive"), source, f"sectors.class.{s}", "cyclical or defensive", c)

    dc = d["domestic_cyclicals"]
    _check(0.0 <= dc["domestic_revenue_min"] <= 1.0, source, "domestic_cyclicals.domestic_revenue_min",
           "a share between 0 and 1", dc["domestic_revenue_min"])
    _check(dc["missing_domestic_share"] in ("exclude", "include"), source,
           "domestic_cyclicals.missing_domestic_share", "exclude or include", dc["missing_domestic_share"])

    ai = d["ai_layer"]
    for where in ("tickers", "industries"):
        for name, layer in ai[where].items():
            _check(layer in AI_LAYERS, source, f"ai_layer.{where}.{name}", f"one of {', '.join(AI_LAYERS)}", layer)

    q = d["quality"]
    _check(-10 <= q["min_roe"] <= 10, source, "quality.min_roe", "a return on equity from -10 to 10 (0.10 = 10%)",
           q["min_roe"])
    for key in ("max_debt_to_equity", "junk_debt_to_equity"):
        _check(0 <= q[key] <= 1000, source, f"quality.{key}", "a ratio from 0 to 1000", q[key])
    _check(q["junk_debt_to_equity"] >= q["max_debt_to_equity"], source, "quality.junk_debt_to_equity",
           "a number >= quality.max_debt_to_equity", q["junk_debt_to_equity"])

    scq = d["small_cap_quality"]
    _check(scq["reconstitute"] in ("daily", "monthly"), source, "small_cap_quality.reconstitute",
           "daily or monthly", scq["reconstitute"])
    _check(0 < scq["top_fraction"] <= 1, source, "small_cap_quality.top_fraction", "a share in (0, 1]", scq["top_fraction"])

    h = d["history"]
    for key in ("window", "min_periods"):
        _check(isinstance(h[key], int) and 2 <= h[key] <= MAX_DAYS, source, f"history.{key}",
               f"an integer from 2 to {MAX_DAYS:,} trading days", h[key])

    sig = d["signals"]
    for key, v in sig.items():
        vals = v if isinstance(v, list) else [v]
        _check(len(vals) > 0 and all(isinstance(x, int) and 1 <= x <= MAX_DAYS for x in vals), source,
               f"signals.{key}", f"integer(s) from 1 to {MAX_DAYS:,} trading days", v)
    scq_lag = scq["growth_lag_days"]
    _check(isinstance(scq_lag, int) and 1 <= scq_lag <= MAX_DAYS, source, "small_cap_quality.growth_lag_days",
           f"an integer from 1 to {MAX_DAYS:,} trading days", scq_lag)

    sc = d["scorecard"]
    for claim, th in sc.items():
        for key, v in th.items():
            if "percentile" in key:
                _check(0 <= v <= 1, source, f"scorecard.{claim}.{key}", "a percentile between 0 and 1", v)
            elif key != "years":
                _check(abs(v) <= 100, source, f"scorecard.{claim}.{key}", "a plausible threshold from -100 to 100", v)
    _check(1 <= sc["C9"]["years"] <= 100, source, "scorecard.C9.years", "from 1 to 100 years", sc["C9"]["years"])
    _check(sc["C2"]["snap_months"] in (1, 3, 6, 12), source, "scorecard.C2.snap_months", "1, 3, 6 or 12",
           sc["C2"]["snap_months"])

    r = d["regime"]
    for name, w in r["weights"].items():
        _check(0 <= w <= 1000, source, f"regime.weights.{name}", "a weight from 0 to 1000", w)
    _check(sum(r["weights"].values()) > 0, source, "regime.weights", "at least one positive weight", r["weights"])
    hy = r["hysteresis"]
    for key in ("enter_diffusion", "exit_diffusion", "enter_scarcity", "exit_scarcity"):
        _check(0 <= hy[key] <= 1, source, f"regime.hysteresis.{key}", "a score between 0 and 1", hy[key])
    _check(hy["enter_scarcity"] <= hy["exit_scarcity"] <= hy["exit_diffusion"] <= hy["enter_diffusion"], source,
           "regime.hysteresis", "enter_scarcity <= exit_scarcity <= exit_diffusion <= enter_diffusion",
           {k: hy[k] for k in ("enter_scarcity", "exit_scarcity", "exit_diffusion", "enter_diffusion")})
    for key in ("smooth_span", "min_days", "min_dwell"):
        _check(isinstance(hy[key], int) and 1 <= hy[key] <= MAX_DAYS, source, f"regime.hysteresis.{key}",
               f"an integer from 1 to {MAX_DAYS:,}", hy[key])
    for key in ("horizon", "min_history"):
        _check(isinstance(r[key], int) and 1 <= r[key] <= MAX_DAYS, source, f"regime.{key}",
               f"an integer from 1 to {MAX_DAYS:,} (trading days)", r[key])

    return Config(
        universe=UniverseConfig(u["large_index"], u["small_index"], int(u["k"]), tuple(u["k_report"]), u["basket_universe"]),
        sectors=SectorConfig(dict(classes)),
        domestic_cyclicals=DomesticCyclicalConfig(
            tuple(dc["sectors"]), tuple(dc["industry_keywords"]), float(dc["domestic_revenue_min"]),
            dc["missing_domestic_share"],
        ),
        megacap_tech=MegacapTechConfig(tuple(d["megacap_tech"]["sectors"])),
        ai_layer=AILayerConfig(dict(ai["tickers"]), dict(ai["industries"])),
        quality=QualityConfig(bool(q["profitable_ttm"]), float(q["min_roe"]), float(q["max_debt_to_equity"]),
                              float(q["junk_debt_to_equity"])),
        small_cap_quality=SmallCapQualityConfig(float(scq["top_fraction"]), bool(scq["require_profitable"]),
                                                bool(scq["require_positive_growth"]), int(scq["growth_lag_days"]),
                                                scq["reconstitute"]),
        history=HistoryConfig(int(h["window"]), int(h["min_periods"])),
        signals=SignalConfig(
            trend_window=sig["trend_window"], breadth_window=sig["breadth_window"],
            moving_average=sig["moving_average"], snap_windows=tuple(sig["snap_windows"]),
            crowding_window=sig["crowding_window"], growth_lag_days=sig["growth_lag_days"],
            acceleration_lag_days=sig["acceleration_lag_days"], credit_growth_days=sig["credit_growth_days"],
        ),
        scorecard={c: {k: float(v) for k, v in th.items()} for c, th in sc.items()},
        regime=RegimeConfig({k: float(v) for k, v in r["weights"].items()}, HysteresisConfig(**hy),
                            horizon=r["horizon"], min_history=r["min_history"]),
        source=source,
        raw=d,
    )


def load_config(path: str | Path | None = None) -> Config:
    """Load the configuration: shipped defaults, with ``path`` deep-merged over them.

    Parameters
    ----------
    path : str or Path, optional
        A user TOML file holding only the keys to change. ``None`` gives the defaults.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        If the file is missing or not valid TOML, or a key is unknown, or a value has the
        wrong kind or range; the message names the file and the dotted key.
    """
    merged = _defaults()
    if path is None:
        return _build(merged, "defaults")
    source = str(path)
    user = read_toml(path)
    _merge(merged, user, source, "")
    return _build(merged, source)


__all__ = ["Config", "load_config", "read_toml", "DEFAULT_PATH"]
