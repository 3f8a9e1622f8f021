"""The state one synthetic market is built in: seed, preset, calendar and what each step adds."""

from __future__ import annotations

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
    """

    def __init__(self, seed: int, p: Preset, regime: str):
        self.seed, self.p, self.regime = seed, p, regime
        self.rng = np.random.default_rng([seed, 0x5EED])
        self.dates = pd.bdate_range(p.start, p.end)
        self.days = self.dates.values.astype("datetime64[D]")
        self.T = len(self.dates)
