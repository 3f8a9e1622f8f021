"""Run sweep variants serially or on Dask distributed, and collect them into a :class:`SweepResult`.

What the variants share and how one is evaluated is :mod:`broadening.sweep.shared`
(the playbook's own algos and the one engine, on data prepared once).

Determinism and failures
------------------------
Tasks are pure functions of (data, variants) and return results keyed by variant id; the
collector keeps the first result per id, so a task re-run after a lost worker neither loses
nor duplicates anything. Results are ordered by variant id. Numpy/BLAS runs single-threaded
inside a task (when threadpoolctl is available), so a result does not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from broadening.backtest import metrics as M
from broadening.errors import BroadeningError
from broadening.sweep.grid import AXES, SweepGrid, Variant
from broadening.sweep.shared import SweepData, backtest_variant, evaluate, evaluate_many, prepare

if TYPE_CHECKING:
    from broadening.config import Config
    from broadening.market import Market

__all__ = ["LOWER_IS_BETTER", "SweepResult", "backtest_variant", "dask_client", "evaluate", "local_cluster", "prepare",
           "run_sweep", "run_variants"]

#: Metrics where a lower value ranks a variant higher.
LOWER_IS_BETTER = frozenset({"volatility", "tracking_error", "turnover"})
Progress = Callable[[str, int, int], None]


# -- results -----------------------------------------------------------------------------------
@dataclass
class SweepResult:
    """What a sweep produced, ordered by variant id.

    Attributes
    ----------
    variants : list of dict
        One per variant (see :func:`evaluate`).
    grid : SweepGrid
    seconds : dict
        ``prepare``, ``evaluate`` and ``total`` wall times.
    workers : int
        0 for a serial run.
    notes : list of str
    """

    variants: list[dict[str, Any]]
    grid: SweepGrid
    seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 0
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    def frame(self) -> pd.DataFrame:
        """One row per variant: ``id``, the axes, the split dates, the metrics, then ``is_<metric>`` (in-sample)."""
        rows = []
        for v in self.variants:
            row: dict[str, Any] = {"id": v["id"], **v["params"], **v["split"]}
            row.update(v["metrics"])
            ins = v["in_sample"] or {}
            row.update({f"is_{k}": ins.get(k, np.nan) for k in M.METRIC_KEYS})
            rows.append(row)
        cols = ["id", *AXES, "split", "train_start", "train_end", "test_end", *M.METRIC_KEYS,
                *(f"is_{k}" for k in M.METRIC_KEYS)]
        df = pd.DataFrame(rows, columns=cols)
        df["regime_scaling"] = df["regime_scaling"].astype(bool)
        return df

    def best(self, metric: str = "sharpe") -> dict[str, Any] | None:
        """The best variant by ``metric`` (its out-of-sample value under walk-forward).

        Higher is better, except for :data:`LOWER_IS_BETTER` (volatility, tracking error,
        turnover); ``max_drawdown`` is <= 0, so higher (shallower) is better. Ties go to the
        lowest id.
        """
        _check_metric(metric)
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        vals = [(v["metrics"].get(metric), v["id"]) for v in self.variants]
        vals = [(sign * x, i) for x, i in vals if x is not None and np.isfinite(x)]
        if not vals:
            return None
        best_id = max(vals, key=lambda p: (p[0], -p[1]))[1]
        return next(v for v in self.variants if v["id"] == best_id)

    def walk_forward(self, metric: str = "sharpe") -> list[dict[str, Any]]:
        """Per split: the variant best in-sample by ``metric`` and its out-of-sample metrics."""
        _check_metric(metric)
        out = []
        for split in self.grid.splits:
            if split.is_full:
                continue
            vs = [v for v in self.variants if v["split"]["split"] == split.name]
            ok = [v for v in vs if v["in_sample"] and np.isfinite(v["in_sample"].get(metric, np.nan))]
            if not ok:
                continue
            sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
            b = max(ok, key=lambda v: (sign * v["in_sample"][metric], -v["id"]))
            out.append({**split.as_dict(), "best_in_sample": b["id"], "params": b["params"],
                        "in_sample": b["in_sample"], "out_of_sample": b["metrics"]})
        return out

    def meta(self, metric: str = "sharpe") -> dict[str, Any]:
        return {
            "grid": self.grid.source, "metric": metric, "axes": {k: list(v) for k, v in self.grid.axes.items()},
            "varied": self.grid.varied, "sleeve_sets": self.grid.sleeve_sets, "costs": self.grid.costs,
            "splits": [s.as_dict() for s in self.grid.splits], "workers": self.workers,
            "seconds": self.seconds, "notes": self.notes, "synthetic": self.synthetic,
            "best": (self.best(metric) or {}).get("id"), "walk_forward": self.walk_forward(metric),
        }

    def to_json(self, metric: str = "sharpe") -> dict[str, Any]:
        """``{"variants": [...], "best": {...}, "walk_forward": [...], ...}`` (parameters flattened next to metrics)."""
        def flat(v):
            return {"id": v["id"], **v["params"], **v["split"], "metrics": v["metrics"], "in_sample": v["in_sample"]}

        best = self.best(metric)
        return {
            "variants": [flat(v) for v in self.variants],
            "best": None if best is None else {**flat(best), "metric": metric, "value": best["metrics"][metric]},
            "walk_forward": self.walk_forward(metric),
            "metric": metric,
            "grid": self.grid.source,
            "synthetic": self.synthetic,
            "seconds": self.seconds,
            "workers": self.workers,
            "notes": self.notes,
        }


def _check_metric(metric: str) -> None:
    if metric not in M.METRIC_KEYS:
        raise BroadeningError(f"--metric: expected one of {', '.join(M.METRIC_KEYS)}, got {metric!r}")


# -- running -----------------------------------------------------------------------------------
def _chunks(variants: Sequence[Variant], size: int) -> list[list[Variant]]:
    return [list(variants[i : i + size]) for i in range(0, len(variants), size)]


def run_variants(
    data: SweepData,
    variants: Sequence[Variant],
    *,
    client=None,
    chunk: int | None = None,
    progress: Progress | None = None,
    on_result: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate ``variants`` serially (``client=None``) or on a Dask client; ordered by id.

    On Dask the data is scattered once (broadcast to every worker) and each task evaluates a
    chunk of variants; results are kept by variant id (first one wins), so tasks re-run after
    a worker is lost never duplicate or drop a result.
    """
    n = len(variants)
    results: dict[int, dict[str, Any]] = {}
    if client is None:
        for v in variants:
            results[v.id] = evaluate(data, v)
            if progress:
                progress("variants", len(results), n)
            if on_result:
                on_result(len(results))
    else:
        from distributed import as_completed

        nworkers = max(1, len(client.scheduler_info().get("workers", {})))
        size = chunk or max(1, min(16, n // (8 * nworkers) or 1))
        data_f = client.scatter(data, broadcast=True, hash=False)
        token = uuid.uuid4().hex[:8]
        futures = [
            client.submit(evaluate_many, data_f, ch, key=f"sweep-{token}-{i:05d}", pure=False, retries=3)
            for i, ch in enumerate(_chunks(variants, size))
        ]
        try:
            for fut in as_completed(futures):
                for res in fut.result():
                    results.setdefault(res["id"], res)
                if progress:
                    progress("variants", len(results), n)
                if on_result:
                    on_result(len(results))
        finally:
            client.cancel([*futures, data_f])
    missing = [v.id for v in variants if v.id not in results]
    if missing:
        raise BroadeningError(f"sweep: no result for {len(missing)} variant(s), e.g. {missing[:5]}")
    return [results[v.id] for v in sorted(variants, key=lambda v: v.id)]


#: glibc malloc settings for the local workers. Distributed's default (``MALLOC_TRIM_THRESHOLD_=65536``)
#: switches off glibc's adaptive mmap threshold, so every multi-MB numpy temporary becomes a
#: fresh mmap with page faults: measured 1.5x slower per variant than the same code in the
#: client process. Explicit thresholds keep arrays up to 64 MiB on the heap (reused), and
#: still give memory back above 128 MiB of free heap. Workers you start yourself for
#: ``--scheduler`` benefit from the same environment variables.
WORKER_MALLOC = {"MALLOC_TRIM_THRESHOLD_": 2**27, "MALLOC_MMAP_THRESHOLD_": 2**26}


def local_cluster(workers: int = 2, **kwargs):
    """A LocalCluster of ``workers`` processes with one thread each and :data:`WORKER_MALLOC`."""
    import logging

    import dask
    from distributed import LocalCluster

    env = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_MALLOC.items()}
    with dask.config.set(env):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            dashboard_address=kwargs.pop("dashboard_address", None),
                            silence_logs=kwargs.pop("silence_logs", logging.ERROR), **kwargs)


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2):
    """A Dask client: on ``scheduler`` when given, else on a new LocalCluster of ``workers``
    processes with one thread each (closed on exit)."""
    from distributed import Client

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise BroadeningError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        try:
            yield client
        finally:
            client.close()
        return
    cluster = local_cluster(workers)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def run_sweep(
    market: Market,
    grid: SweepGrid,
    *,
    regime_score: pd.Series | None = None,
    basket_config: Config | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    client=None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run every variant of ``grid`` on ``market``.

    Parameters
    ----------
    market : Market
    grid : SweepGrid
        From :func:`~broadening.sweep.grid.load_grid`.
    regime_score : Series, optional
        Diffusion score by date (read at each rebalance date for variants with regime scaling).
    basket_config : broadening.config.Config, optional
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://host:8786``).
    workers : int, default 2
        Workers of the LocalCluster started when no scheduler or client is given; 0 runs
        serially in this process.
    client : distributed.Client, optional
        An existing client (wins over ``scheduler`` and ``workers``).
    progress : callable, optional
        ``progress(step, done, total)``.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    data, grid = prepare(market, grid, regime_score=regime_score, basket_config=basket_config)
    notes = list(data.notes)
    if any(v.config.trim.regime_scaling for v in grid.variants) and regime_score is None:
        notes.append("no regime score given: variants with regime scaling trimmed fully")
    t1 = time.perf_counter()
    if client is not None:
        out = run_variants(data, grid.variants, client=client, progress=progress)
        nw = len(client.scheduler_info().get("workers", {}))
    elif scheduler is None and workers <= 0:
        out = run_variants(data, grid.variants, progress=progress)
        nw = 0
    else:
        with dask_client(scheduler, workers) as c:
            out = run_variants(data, grid.variants, client=c, progress=progress)
            nw = len(c.scheduler_info().get("workers", {}))
    t2 = time.perf_counter()
    return SweepResult(variants=out, grid=grid, workers=nw, notes=notes, synthetic=bool(market.synthetic),
                       seconds={"prepare": t1 - t0, "evaluate": t2 - t1, "total": t2 - t0})
