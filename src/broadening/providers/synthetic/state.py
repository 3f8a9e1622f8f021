"""The state one synthetic market is built in: seed, preset, calendar and what each step adds."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from broadening.providers.synthetic.presets import Preset


class GeneratorState:
    """Everything one generation run shares between its steps.

    The steps (universe, model, membership, fundamentals, tables) read and add attributes
    in a fixed order and draw from the one random generator :attr:`rng`, so the output is
    a function of ``seed``, ``preset`` and ``regime`` alone.

    Parameters
    ----------
    seed : int
        Seed of the random generator.
    p : Preset
        Size and span of the market.
    regime : str
        Final phase, ``"broadening"`` or ``"concentrating"``.
    timings : dict, optional
        When given, :meth:`tick` records seconds per step into it.
    """

    def __init__(self, seed: int, p: Preset, regime: str, timings: dict | None = None):
        self.seed, self.p, self.regime = seed, p, regime
        self.timings = timings
        self.rng = np.random.default_rng([seed, 0x5EED])
        self.dates = pd.bdate_range(p.start, p.end)
        self.days = self.dates.values.astype("datetime64[D]")
        self.T = len(self.dates)
        self.t0 = time.perf_counter()

    def tick(self, label: str) -> None:
        """Record the seconds since the last tick under ``label`` (when timing)."""
        if self.timings is not None:
            now = time.perf_counter()
            self.timings[label] = now - self.t0
            self.t0 = now
