"""Pruning by spectra: per-layer sparsity from α (AlphaPruning) and the pruners that apply it.

- ``alpha_pruning_ratios``: AlphaPruning's allocation, parameter-weighted mean exactly the target.
- ``uniform_ratios``: the baseline, every layer at the target.
- ``prune``: magnitude or Wanda scores per layer, on equinox / flax pytrees and state dicts,
  returning the pruned parameters and the masks (``PruneResult``).
- ``input_norms``: Wanda's per-input-feature norms of calibration activations.
"""

from ._prune import SCORES as SCORES
from ._prune import PruneResult as PruneResult
from ._prune import alpha_pruning_ratios as alpha_pruning_ratios
from ._prune import input_norms as input_norms
from ._prune import prune as prune
from ._prune import uniform_ratios as uniform_ratios

__all__ = [
    "PruneResult",
    "SCORES",
    "alpha_pruning_ratios",
    "input_norms",
    "prune",
    "uniform_ratios",
]
