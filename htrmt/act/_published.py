"""The published estimator inside :func:`htrmt.analyze` (``estimator=``): ESD and fit adapters."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from .._status import Status
from ._estimator import HILL_STATUS, Estimator, get_estimator, hill_fit, layer_esd

__all__ = ["PublishedFit", "published_esd", "published_fit", "resolve_estimator"]


def resolve_estimator(estimator: Any) -> tuple[Estimator, str]:
    """``(Estimator, label)`` of an ``estimator=`` argument (a name or an Estimator)."""
    est = get_estimator(estimator)
    label = estimator if isinstance(estimator, str) else "custom"
    return est, label


def published_esd(matrices: np.ndarray, estimator: Estimator) -> np.ndarray:
    """The layer's ESD under the estimator's conventions, ascending, as float64 NumPy."""
    return np.sort(np.asarray(layer_esd(jnp.asarray(matrices), estimator), np.float64))


@dataclasses.dataclass(frozen=True)
class PublishedFit:
    """A Hill fit in the shape :func:`htrmt.analyze` reads (α, xmin, xmax, D, σ, tail size)."""

    alpha: float
    xmin: float
    xmax: float
    D: float
    sigma: float
    num_tail: int
    status: str

    @property
    def ok(self) -> bool:
        return self.status == Status.OK.label

    @property
    def message(self) -> str:
        return Status.from_label(self.status).message


def published_fit(evals: np.ndarray, estimator: Estimator) -> PublishedFit:
    """:func:`htrmt.act.hill_fit` of one ESD, as host floats; σ = (α − 1)/√n."""
    f = hill_fit(jnp.asarray(evals), estimator)
    alpha = float(f.alpha)
    n = int(f.num_tail)
    sigma = (alpha - 1) / math.sqrt(n) if n > 0 and math.isfinite(alpha) else math.nan
    return PublishedFit(
        alpha=alpha,
        xmin=float(f.xmin),
        xmax=float(f.lambda_max),
        D=float(f.D),
        sigma=sigma,
        num_tail=n,
        status=HILL_STATUS[int(f.status)],
    )
