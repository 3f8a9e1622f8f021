"""Parameter sweeps and walk-forward runs of the playbook, serially or on Dask distributed.

- :mod:`broadening.sweep.grid`: the grid TOML loader (:func:`load_grid`) and its variants.
- :mod:`broadening.sweep.run`: :func:`run_sweep` (precompute once, scatter once, evaluate
  each variant cheaply) and :class:`SweepResult`.
"""

from broadening.sweep.grid import SweepGrid, Variant, load_grid, parse_grid
from broadening.sweep.run import SweepResult, evaluate, prepare, run_sweep, run_variants

__all__ = ["SweepGrid", "Variant", "load_grid", "parse_grid", "SweepResult", "evaluate", "prepare", "run_sweep",
           "run_variants"]
