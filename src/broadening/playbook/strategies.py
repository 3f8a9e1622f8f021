"""Strategies as algo stacks: the three benchmarks and the playbook.

=============  =====================================================================
cap_weight     index members on the rebalance date, weighted by market cap
ex_top_k       index members but the k largest, cap- or equally weighted (the index
               without its mega-caps)
equal_weight   index members, equally weighted, rebalanced on the same schedule
momentum       the "2023-2024 momentum model": top quintile of index members by 12-1
               month momentum, cap-weighted
playbook       cap weight -> trim the top-k -> redeploy into sleeves -> constraints
=============  =====================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from broadening.playbook.algos import (
    AlgoStack,
    BasketFn,
    Constrain,
    DropTopK,
    Redeploy,
    SelectMembers,
    SelectMomentum,
    TrackingErrorBudget,
    TrimTopK,
    TurnoverBudget,
    WeighByCap,
    WeighEqually,
)
from broadening.playbook.config import PlaybookConfig

if TYPE_CHECKING:
    from broadening.config import Config


def cap_weight(index_id: str = "sp500") -> AlgoStack:
    """Index members by market cap."""
    return AlgoStack([SelectMembers(index_id), WeighByCap("cap_weight")], name="cap_weight", index_id=index_id)


def equal_weight(index_id: str = "sp500") -> AlgoStack:
    """Index members, equally weighted."""
    return AlgoStack([SelectMembers(index_id), WeighEqually("equal_weight")], name="equal_weight", index_id=index_id)


def ex_top_k(index_id: str = "sp500", k: int = 10, weighting: str = "cap") -> AlgoStack:
    """Index members but the ``k`` largest by cap, weighted by cap or equally (``weighting``)."""
    if weighting not in ("cap", "equal"):
        raise ValueError(f"weighting: expected 'cap' or 'equal', got {weighting!r}")
    name = f"{weighting}_weight_ex_top{k}"
    weigh = WeighByCap(name) if weighting == "cap" else WeighEqually(name)
    return AlgoStack([SelectMembers(index_id), DropTopK(k), weigh], name=name, index_id=index_id)


def momentum(index_id: str = "sp500", lookback: int = 252, skip: int = 21, quantile: float = 0.2) -> AlgoStack:
    """Top ``quantile`` of index members by ``lookback``-``skip`` momentum, cap-weighted."""
    return AlgoStack(
        [SelectMembers(index_id), SelectMomentum(lookback, skip, quantile), WeighByCap("momentum")],
        name="momentum", index_id=index_id,
    )


def default_baskets(basket_config: Config | None = None) -> dict[str, BasketFn]:
    """Eligibility of each redeploy sleeve, from :mod:`broadening.baskets` (point-in-time masks)."""
    from broadening import baskets

    return {
        "quality_domestic_cyclicals": lambda m: baskets.quality_domestic_cyclicals(m, basket_config),
        "ai_adopters": lambda m: baskets.ai_layer(m, basket_config, "adopter"),
        "small_cap_quality": lambda m: baskets.small_cap_quality(m, basket_config),
        "bdcs": lambda m: baskets.bdcs(m, basket_config),
    }


def playbook(
    cfg: PlaybookConfig | None = None,
    baskets: Mapping[str, BasketFn] | None = None,
    basket_config: Config | None = None,
) -> AlgoStack:
    """The article's playbook as an algo stack built from a :class:`PlaybookConfig`.

    Steps: select index members, cap-weight, trim the top-k (optionally scaled by the
    regime score), redeploy the freed weight into the sleeves, apply max weight and sector
    bounds, then the optional tracking-error budget and turnover budget.
    """
    cfg = cfg or PlaybookConfig()
    t, k = cfg.trim, cfg.constraints
    shares = cfg.sleeves.shares()
    fns = dict(baskets) if baskets is not None else default_baskets(basket_config)
    fns = {n: f for n, f in fns.items() if shares.get(n, 0.0) > 0}
    algos = [
        SelectMembers(cfg.portfolio.index),
        WeighByCap("cap_weight"),
        TrimTopK(t.top_k, t.mode, t.cap, t.cut, t.regime_scaling, t.regime_floor, t.concentration_ref,
                 t.concentration_max),
        Redeploy(shares, fns),
        Constrain(k.max_weight, k.sector_bounds),
    ]
    if k.tracking_error_budget > 0:
        algos.append(TrackingErrorBudget(k.tracking_error_budget, k.te_lookback, k.te_shrinkage,
                                         k.max_weight, k.sector_bounds, cfg.portfolio.index))
    if k.turnover_budget > 0:
        algos.append(TurnoverBudget(k.turnover_budget))
    return AlgoStack(algos, name="playbook", baskets=fns, index_id=cfg.portfolio.index)
