"""Parameter sweeps and walk-forward runs of the playbook, serially or on Dask distributed.

- :mod:`broadening.sweep.grid`: the grid TOML loader (:func:`load_grid`) and its variants.
- :mod:`broadening.sweep.shared`: :func:`prepare` (what every variant shares, computed once
  and scattered once) and :func:`evaluate` (one variant: the playbook's own algos and the
  one engine, so it equals :func:`~broadening.playbook.suite.run_backtests`).
- :mod:`broadening.sweep.run`: :func:`run_sweep` (serially or on Dask) and :class:`SweepResult`.
"""

from broadening.sweep.grid import SweepGrid, Variant, load_grid, parse_grid
from broadening.sweep.run import SweepResult, evaluate, prepare, run_sweep, run_variants

__all__ = ["SweepGrid", "Variant", "load_grid", "parse_grid", "SweepResult", "evaluate", "prepare", "run_sweep",
           "run_variants"]
