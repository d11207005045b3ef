"""Spectral metrics of a layer (Heavy-Tailed Self-Regularization), each with its formula.

alpha, weighted alpha (alpha_hat), log Frobenius / spectral / alpha norms, stable rank,
MP soft rank, hard rank, matrix entropy and rand distance; ``summary`` computes them all.
"""

from ._rand import permute_entries as permute_entries
from ._rand import rand_distance as rand_distance
from ._spectral import alpha as alpha
from ._spectral import hard_rank as hard_rank
from ._spectral import log_alpha_norm as log_alpha_norm
from ._spectral import log_frobenius_norm as log_frobenius_norm
from ._spectral import log_spectral_norm as log_spectral_norm
from ._spectral import matrix_entropy as matrix_entropy
from ._spectral import mp_soft_rank as mp_soft_rank
from ._spectral import stable_rank as stable_rank
from ._spectral import weighted_alpha as weighted_alpha
from ._summary import Metrics as Metrics
from ._summary import summary as summary

all = summary  # noqa: A001  (``htrmt.metrics.all(evals, Q)``: every metric at once)

__all__ = [
    "alpha",
    "weighted_alpha",
    "log_frobenius_norm",
    "log_spectral_norm",
    "log_alpha_norm",
    "stable_rank",
    "mp_soft_rank",
    "hard_rank",
    "matrix_entropy",
    "rand_distance",
    "permute_entries",
    "Metrics",
    "summary",
]
