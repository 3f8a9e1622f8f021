"""The playbook's algos, one import away (in the manner of bt's ``bt.algos``).

A strategy is an :class:`AlgoStack`: a list of tiny algos, each doing one step on a
:class:`Context` that holds **every** rebalance date at once (see
:mod:`broadening.playbook.context`). The algos live by concern:

=================================  =========================================================
:mod:`~broadening.playbook.selection`    ``SelectMembers``, ``SelectMomentum``, ``DropTopK``, ``WeighByCap``, ``WeighEqually``
:mod:`~broadening.playbook.trim`         ``TrimTopK``, ``Redeploy`` (and ``regime_intensity``)
:mod:`~broadening.playbook.constraints`  ``Constrain`` (max weight, sector bounds), ``TurnoverBudget``
:mod:`~broadening.playbook.risk`         ``TrackingErrorBudget`` (and ``factor_covariance``)
=================================  =========================================================
"""

from broadening.playbook.constraints import (
    Constrain,
    TurnoverBudget,
    cap_rows,
    cap_weights,
    sector_fit,
)
from broadening.playbook.context import (
    CAP_SLEEVE,
    CORE_SLEEVE,
    HELD_SLEEVE,
    Algo,
    AlgoStack,
    BasketFn,
    Context,
    RebalanceData,
    TargetWeights,
)
from broadening.playbook.risk import TrackingErrorBudget, factor_covariance, tracking_error
from broadening.playbook.selection import (
    DropTopK,
    SelectMembers,
    SelectMomentum,
    WeighByCap,
    WeighEqually,
)
from broadening.playbook.trim import Redeploy, TrimTopK, concentration_factor, regime_intensity

__all__ = [
    "CAP_SLEEVE", "CORE_SLEEVE", "HELD_SLEEVE", "Algo", "AlgoStack", "BasketFn", "Context", "RebalanceData",
    "TargetWeights", "Constrain", "TurnoverBudget", "cap_rows", "cap_weights", "sector_fit",
    "TrackingErrorBudget", "factor_covariance", "tracking_error", "SelectMembers", "SelectMomentum",
    "DropTopK", "WeighByCap", "WeighEqually", "Redeploy", "TrimTopK", "concentration_factor", "regime_intensity",
]
