"""Spectral metrics of a layer (Heavy-Tailed Self-Regularization), each with its formula.

alpha, alpha_weighted (α̂), the log Frobenius / spectral / alpha norms, stable rank, MP soft
rank, hard rank, entropy and rand distance; ``summary`` computes them all. Each function has the
name of its column in the reports of :func:`htrmt.analyze` (and of the weightwatcher tool).

Renamed (the old names still work for one release, with a ``DeprecationWarning``):
``weighted_alpha`` → ``alpha_weighted``, ``log_frobenius_norm`` → ``log_norm``,
``mp_soft_rank`` → ``mp_softrank``, ``matrix_entropy`` → ``entropy``, ``all`` → ``summary``.
"""

import warnings as _warnings
from typing import Any as _Any

from ._rand import permute_entries as permute_entries
from ._rand import rand_distance as rand_distance
from ._spectral import alpha as alpha
from ._spectral import alpha_weighted as alpha_weighted
from ._spectral import entropy as entropy
from ._spectral import hard_rank as hard_rank
from ._spectral import log_alpha_norm as log_alpha_norm
from ._spectral import log_norm as log_norm
from ._spectral import log_spectral_norm as log_spectral_norm
from ._spectral import mp_softrank as mp_softrank
from ._spectral import stable_rank as stable_rank
from ._summary import Metrics as Metrics
from ._summary import summary as summary

__all__ = [
    "alpha",
    "alpha_weighted",
    "log_norm",
    "log_spectral_norm",
    "log_alpha_norm",
    "stable_rank",
    "mp_softrank",
    "hard_rank",
    "entropy",
    "rand_distance",
    "permute_entries",
    "Metrics",
    "summary",
]

# old name -> new name (kept for one release)
RENAMED = {
    "weighted_alpha": "alpha_weighted",
    "log_frobenius_norm": "log_norm",
    "mp_soft_rank": "mp_softrank",
    "matrix_entropy": "entropy",
    "all": "summary",
}


def __getattr__(name: str) -> _Any:
    if name in RENAMED:
        new = RENAMED[name]
        _warnings.warn(
            f"htrmt.metrics.{name} is deprecated and will be removed in the next release; "
            f"use htrmt.metrics.{new} (the same function)",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[new]
    raise AttributeError(f"module 'htrmt.metrics' has no attribute {name!r}")
