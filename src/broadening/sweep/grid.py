"""Sweep grids: a strict TOML loader that expands to playbook variants.

A grid file names the values to try on each axis; the sweep is their cartesian product,
times the walk-forward splits (see ``examples/sweep.toml``, every key commented)::

    [sweep]
    playbook = "playbook.toml"   # optional base playbook config (relative to this file)
    costs = true                 # false turns every cost off

    [grid]
    top_k = [5, 10]              # trim.top_k
    cap = [0.02, 0.04]           # trim.cap (max weight of a top-k name, "cap" mode)
    cut = [0.4, 0.6]             # trim.cut (share of the top-k's total removed, "cut" mode)
    schedule = ["monthly"]       # portfolio.schedule
    regime_scaling = [true, false]

    [grid.sleeves.balanced]      # named sleeve-share sets (missing sleeves = 0)
    equal_weight_core = 0.5
    quality_domestic_cyclicals = 0.5

    [walk_forward]               # optional: rolling (or anchored) train/test splits
    train_years = 5
    test_years = 2

An axis left out keeps the base config's value. Every value is validated before any work,
with a :class:`~broadening.errors.ConfigError` naming the file and the key; unknown
sections and keys are rejected.

Variants are numbered ``0 .. n-1`` in a fixed order (schedule, regime scaling, top-k, cap,
cut, sleeves, split: the last varies fastest), so a variant id means the same thing in every run.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from broadening.backtest.schedule import FREQUENCIES
from broadening.config import read_toml
from broadening.errors import ConfigError, LimitError
from broadening.playbook.config import SLEEVES, PlaybookConfig, parse_playbook_config
from broadening.schema import check_day_range, parse_day

#: Grid axes in expansion order (the last varies fastest), with the playbook key each sets.
AXES: dict[str, tuple[str, str]] = {
    "schedule": ("portfolio", "schedule"),
    "regime_scaling": ("trim", "regime_scaling"),
    "top_k": ("trim", "top_k"),
    "cap": ("trim", "cap"),
    "cut": ("trim", "cut"),
    "sleeves": ("sleeves", ""),
}
_SWEEP_KEYS = {"playbook", "costs"}

#: Most variants (parameter sets x splits) a grid may expand to unless the caller raises it
#: (``broadening sweep --max-variants``): 1,000,000 variants would run for about half a day.
MAX_VARIANTS = 10_000
#: Seconds one variant takes on one worker per million (day x security) cells of the
#: market: 0.86-1.1 s a variant on the 18.3M-cell demo market, serial, on a loaded 2-core
#: machine (0.05-0.06), rounded down for an idle one. Used by :func:`estimate_seconds`,
#: an order of magnitude before a sweep starts, not a promise.
SECONDS_PER_VARIANT_MCELL = 0.04
_WF_KEYS = {"train_years", "test_years", "step_years", "anchored", "start", "splits"}


@dataclass(frozen=True)
class Split:
    """One walk-forward split: train on ``[train_start, train_end]``, test on ``(train_end, test_end]``.

    The ``full`` split (no walk-forward) has ``train_end = test_end = None``: the whole history.
    """

    name: str
    train_start: pd.Timestamp | None = None
    train_end: pd.Timestamp | None = None
    test_end: pd.Timestamp | None = None

    @property
    def is_full(self) -> bool:
        return self.train_end is None

    def as_dict(self) -> dict[str, str | None]:
        def d(x):
            return None if x is None else str(pd.Timestamp(x).date())

        return {"split": self.name, "train_start": d(self.train_start), "train_end": d(self.train_end),
                "test_end": d(self.test_end)}


FULL = Split("full")


@dataclass(frozen=True)
class Variant:
    """One point of the grid: a validated playbook config and a date split.

    Attributes
    ----------
    id : int
        Position in the expansion order (stable across runs).
    params : dict
        The grid values of this variant (``schedule, regime_scaling, top_k, cap, cut, sleeves``).
    config : PlaybookConfig
    split : Split
    """

    id: int
    params: dict[str, Any]
    config: PlaybookConfig
    split: Split = FULL

    @property
    def config_id(self) -> tuple:
        """Identifies the parameter set (the same for every split of it)."""
        return tuple(self.params[a] for a in AXES)


@dataclass
class SweepGrid:
    """A loaded grid: the axes' values, the base config, the splits and the variants."""

    source: str
    base: PlaybookConfig
    axes: dict[str, list]
    sleeve_sets: dict[str, dict[str, float]]
    splits: list[Split]
    costs: bool = True
    walk_forward: dict[str, Any] = field(default_factory=dict)
    variants: list[Variant] = field(default_factory=list)
    max_variants: int = MAX_VARIANTS

    def __len__(self) -> int:
        return len(self.variants)

    @property
    def varied(self) -> list[str]:
        """Axes with more than one value (plus ``split`` when walk-forward is on)."""
        out = [a for a, v in self.axes.items() if len(v) > 1]
        wf = bool(self.walk_forward) or any(not s.is_full for s in self.splits)
        return out + (["split"] if wf else [])


def _err(source: str, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{source}: key '{key}': {msg}")


def _list(source: str, key: str, v: Any) -> list:
    vals = v if isinstance(v, list) else [v]
    if not vals:
        raise _err(source, key, "expected at least one value")
    if len(set(map(repr, vals))) != len(vals):
        raise _err(source, key, f"duplicate values in {vals!r}")
    return vals


def _check_axis(source: str, axis: str, vals: list) -> list:
    key = f"grid.{axis}"
    out = []
    for x in vals:
        if axis == "top_k":
            if isinstance(x, bool) or not isinstance(x, int) or x < 1:
                raise _err(source, key, f"expected integers >= 1, got {x!r}")
        elif axis == "cap":
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or not 0 < x <= 1:
                raise _err(source, key, f"expected numbers in (0, 1], got {x!r}")
            x = float(x)
        elif axis == "cut":
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x) or not 0 <= x <= 1:
                raise _err(source, key, f"expected numbers in [0, 1], got {x!r}")
            x = float(x)
        elif axis == "schedule":
            if not isinstance(x, str) or x not in FREQUENCIES or x == "daily":
                raise _err(source, key, f"expected weekly, monthly, quarterly or annual, got {x!r}")
        else:  # regime_scaling (sleeves are checked by _sleeve_sets)
            if not isinstance(x, bool):
                raise _err(source, key, f"expected true or false, got {x!r}")
        out.append(x)
    return out


def _sleeve_sets(source: str, raw: Any) -> dict[str, dict[str, float]]:
    if not isinstance(raw, dict) or not raw:
        raise _err(source, "grid.sleeves", "expected named tables of sleeve shares, e.g. [grid.sleeves.balanced]")
    out = {}
    for name, shares in raw.items():
        key = f"grid.sleeves.{name}"
        if not isinstance(shares, dict):
            raise _err(source, key, "expected a table of sleeve = share")
        got = {}
        for s, v in shares.items():
            if s not in SLEEVES:
                raise _err(source, f"{key}.{s}", f"unknown sleeve (known: {', '.join(SLEEVES)})")
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise _err(source, f"{key}.{s}", f"expected a share >= 0, got {v!r}")
            got[s] = float(v)
        total = sum(got.values())
        if abs(total - 1.0) > 1e-6:
            raise _err(source, key, f"shares must sum to 1, they sum to {total:.6f}")
        out[str(name)] = {s: got.get(s, 0.0) for s in SLEEVES}
    return out


def _date(source: str, key: str, v: Any) -> pd.Timestamp:
    """A TOML date or a date string: one calendar day from 1900 to today, no time zone."""
    day = parse_day(v)
    if day is None:
        raise _err(source, key, f"expected a date like 2015-01-01 (no time zone), got {v!r}")
    wrong = check_day_range(day)
    if wrong:
        raise _err(source, key, f"expected {wrong}, got {v!r}")
    return day


def _splits(source: str, raw: Any) -> tuple[list[Split], dict[str, Any]]:
    """Explicit splits, or a rolling spec resolved later against the data's dates."""
    if raw is None:
        return [FULL], {}
    if not isinstance(raw, dict):
        raise _err(source, "walk_forward", "expected a table")
    for k in raw:
        if k not in _WF_KEYS:
            raise _err(source, f"walk_forward.{k}", f"unknown key (known: {', '.join(sorted(_WF_KEYS))})")
    if "splits" in raw:
        extra = set(raw) - {"splits"}
        if extra:
            raise _err(source, f"walk_forward.{sorted(extra)[0]}", "give either explicit splits or a rolling spec, not both")
        if not isinstance(raw["splits"], list) or not raw["splits"]:
            raise _err(source, "walk_forward.splits", "expected a list of {train = [start, end], test_end = date} tables")
        out = []
        for i, s in enumerate(raw["splits"]):
            key = f"walk_forward.splits[{i}]"
            if not isinstance(s, dict) or set(s) - {"train", "test_end"} or "train" not in s or "test_end" not in s:
                raise _err(source, key, "expected a table with exactly train = [start, end] and test_end = date")
            tr = s["train"]
            if not isinstance(tr, list) or len(tr) != 2:
                raise _err(source, f"{key}.train", f"expected [start, end], got {tr!r}")
            a, b = _date(source, f"{key}.train", tr[0]), _date(source, f"{key}.train", tr[1])
            c = _date(source, f"{key}.test_end", s["test_end"])
            if not a < b < c:
                raise _err(source, key, f"expected train start < train end < test end, got {a.date()}, {b.date()}, {c.date()}")
            out.append(Split(f"wf{i + 1}", a, b, c))
        return out, {}
    spec: dict[str, Any] = {}
    for k, default in (("train_years", None), ("test_years", None), ("step_years", None)):
        v = raw.get(k, default)
        if v is None and k != "step_years":
            raise _err(source, f"walk_forward.{k}", "required for rolling splits (or give explicit splits)")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not 0 < v <= 100):
            raise _err(source, f"walk_forward.{k}", f"expected a number of years in (0, 100], got {v!r}")
        spec[k] = v
    spec["step_years"] = spec["step_years"] or spec["test_years"]
    anchored = raw.get("anchored", False)
    if not isinstance(anchored, bool):
        raise _err(source, "walk_forward.anchored", f"expected true or false, got {anchored!r}")
    spec["anchored"] = anchored
    spec["start"] = _date(source, "walk_forward.start", raw["start"]) if "start" in raw else None
    return [], spec


def rolling_splits(dates: pd.DatetimeIndex, spec: dict[str, Any], first: pd.Timestamp) -> list[Split]:
    """Resolve a rolling spec against the data: splits whose test window ends inside the data.

    Train windows of ``train_years`` start at ``spec['start']`` (or ``first``) and move by
    ``step_years``; with ``anchored`` they all start there (expanding windows). The test
    window is the ``test_years`` after each train window.
    """
    start = max(pd.Timestamp(spec["start"]) if spec.get("start") is not None else first, first)
    last = pd.Timestamp(dates[-1])
    out: list[Split] = []
    k = 0
    while True:
        s = start if spec["anchored"] else start + pd.DateOffset(months=round(12 * spec["step_years"] * k))
        b = start + pd.DateOffset(months=round(12 * (spec["train_years"] + spec["step_years"] * k)))
        c = b + pd.DateOffset(months=round(12 * spec["test_years"]))
        if c > last + pd.Timedelta(days=7):
            break
        out.append(Split(f"wf{k + 1}", s, b - pd.Timedelta(days=1), min(c - pd.Timedelta(days=1), last)))
        k += 1
    return out


def parse_grid(
    data: dict, source: str = "<dict>", base_dir: Path | None = None, max_variants: int = MAX_VARIANTS
) -> SweepGrid:
    """Validate a parsed grid document and expand it (rolling splits stay unresolved, see :func:`resolve_splits`).

    Raises
    ------
    ConfigError
        Naming the file and key, for anything the module docstring lists.
    LimitError
        When the grid expands to more than ``max_variants`` variants (checked before any is built).
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a TOML document")
    for section in data:
        if section not in ("sweep", "grid", "walk_forward"):
            raise _err(source, section, "unknown section (known: sweep, grid, walk_forward)")
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict):
        raise _err(source, "sweep", "expected a table")
    for k in sweep:
        if k not in _SWEEP_KEYS:
            raise _err(source, f"sweep.{k}", f"unknown key (known: {', '.join(sorted(_SWEEP_KEYS))})")
    base_raw: dict = {}
    base_source = "<defaults>"
    if "playbook" in sweep:
        pb = sweep["playbook"]
        if not isinstance(pb, str):
            raise _err(source, "sweep.playbook", f"expected a file name, got {pb!r}")
        p = Path(pb)
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        try:
            base_raw = read_toml(p, "playbook config")
        except ConfigError as exc:
            raise _err(source, "sweep.playbook", str(exc)) from None
        base_source = str(p)
    base = parse_playbook_config(base_raw, source=base_source)
    costs = sweep.get("costs", True)
    if not isinstance(costs, bool):
        raise _err(source, "sweep.costs", f"expected true or false, got {costs!r}")

    grid = data.get("grid", {})
    if not isinstance(grid, dict):
        raise _err(source, "grid", "expected a table")
    for k in grid:
        if k not in AXES:
            raise _err(source, f"grid.{k}", f"unknown axis (known: {', '.join(AXES)})")
    axes: dict[str, list] = {}
    sleeve_sets: dict[str, dict[str, float]] = {}
    for axis, (section, key) in AXES.items():
        if axis == "sleeves":
            if "sleeves" in grid:
                sleeve_sets = _sleeve_sets(source, grid["sleeves"])
            else:
                sleeve_sets = {"base": base.sleeves.shares()}
            axes[axis] = list(sleeve_sets)
        elif axis in grid:
            axes[axis] = _check_axis(source, axis, _list(source, f"grid.{axis}", grid[axis]))
        else:
            axes[axis] = [getattr(getattr(base, section), key)]
    splits, wf = _splits(source, data.get("walk_forward"))

    out = SweepGrid(source=source, base=base, axes=axes, sleeve_sets=sleeve_sets, splits=splits, costs=costs,
                    walk_forward=wf, max_variants=max_variants)
    out._base_raw = base_raw  # type: ignore[attr-defined]
    if splits:
        expand(out)
    return out


def expand(grid: SweepGrid) -> None:
    """Fill ``grid.variants`` from its axes and splits (each variant validated as a playbook config)."""
    base_raw = getattr(grid, "_base_raw", {})
    check_size(grid)
    variants: list[Variant] = []
    # each combination is parsed once (axis values are unique): its splits share the config
    for combo in itertools.product(*(grid.axes[a] for a in AXES)):
        params = dict(zip(AXES, combo, strict=True))
        doc = {k: dict(v) for k, v in base_raw.items()}
        for axis, value in params.items():
            section, key = AXES[axis]
            if axis == "sleeves":
                doc["sleeves"] = dict(grid.sleeve_sets[value])
            else:
                doc.setdefault(section, {})[key] = value
        try:
            config = parse_playbook_config(doc, source=f"{grid.source} (variant {params})")
        except ConfigError as exc:
            raise ConfigError(f"{grid.source}: key 'grid': a combination is not a valid playbook: {exc}") from None
        for split in grid.splits:
            variants.append(Variant(id=len(variants), params=params, config=config, split=split))
    grid.variants = variants


def variant_count(grid: SweepGrid) -> int:
    """How many variants the grid expands to (parameter sets x splits), without building them."""
    return math.prod(len(grid.axes[a]) for a in AXES) * max(1, len(grid.splits))


def check_size(grid: SweepGrid) -> None:
    """Refuse a grid of more than ``grid.max_variants`` variants before any work.

    Raises
    ------
    LimitError
        Naming the file, the count (per axis) and how to raise the limit.
    """
    n = variant_count(grid)
    if n > grid.max_variants:
        per_axis = " x ".join(f"{len(grid.axes[a])} {a}" for a in AXES if len(grid.axes[a]) > 1)
        splits = f" x {len(grid.splits)} splits" if len(grid.splits) > 1 else ""
        raise LimitError(f"{grid.source}: key 'grid': {n:,} variants ({per_axis}{splits}) is more than the limit of "
                         f"{grid.max_variants:,}; shrink the grid or raise the limit with --max-variants")


def estimate_seconds(n_variants: int, n_days: int, n_securities: int, workers: int) -> float:
    """A rough run time of a sweep: variants x market size / workers (see :data:`SECONDS_PER_VARIANT_MCELL`)."""
    return n_variants * SECONDS_PER_VARIANT_MCELL * (n_days * n_securities / 1e6) / max(1, workers)


def resolve_splits(grid: SweepGrid, dates: pd.DatetimeIndex, first: pd.Timestamp) -> SweepGrid:
    """Turn a rolling walk-forward spec into splits on the data's dates, then expand.

    Raises
    ------
    ConfigError
        When the data is too short for a single split.
    """
    if grid.variants:
        return grid
    grid.splits = rolling_splits(dates, grid.walk_forward, first)
    if not grid.splits:
        raise _err(grid.source, "walk_forward",
                   f"no split of {grid.walk_forward['train_years']} + {grid.walk_forward['test_years']} years fits "
                   f"in the data ({pd.Timestamp(first).date()} .. {pd.Timestamp(dates[-1]).date()})")
    expand(grid)
    return grid


def load_grid(path: str | Path, max_variants: int = MAX_VARIANTS) -> SweepGrid:
    """Read, validate and expand a sweep grid TOML file.

    Raises
    ------
    ConfigError
        Naming the file and the key, for an unknown section/key/axis, a wrong type, an
        out-of-range value, sleeve shares not summing to one, or bad walk-forward dates.
    LimitError
        When the grid expands to more than ``max_variants`` variants.
    """
    p = Path(path)
    return parse_grid(read_toml(p, "grid file"), source=str(p), base_dir=p.parent, max_variants=max_variants)
