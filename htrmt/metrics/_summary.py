"""All spectral metrics of one layer in one call."""

from __future__ import annotations

import math
import warnings
from typing import Any

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_scalar, require_host
from . import _spectral as S

__all__ = ["Metrics", "summary"]


class Metrics(eqx.Module):
    """The metrics of one ESD (see the functions of ``htrmt.metrics`` for each formula).

    Attributes:
        alpha: power-law exponent of the tail (NaN with ``alpha_ok=False`` when no fit).
        alpha_ok: whether the power-law fit succeeded.
        alpha_weighted: ``α · log10 λ_max``.
        log_norm: ``log10 Σλ_i``.
        log_spectral_norm: ``log10 λ_max``.
        log_alpha_norm: ``log10 Σλ_i^α``.
        stable_rank: ``Σλ_i/λ_max``.
        mp_softrank: ``λ+/λ_max`` (λ+ from the MP bulk fit; NaN if none could be made).
        hard_rank: ``#{λ_i > rtol·λ_max}``.
        entropy: ``−Σp_i ln p_i / ln R``.
        lambda_max: the largest eigenvalue.
        lambda_plus: the fitted MP edge.
        num_spikes: eigenvalues above ``λ+ + c·s`` (MP fit).
        M: number of eigenvalues.
        Q: aspect ratio.
        xmin: the power-law fit's lower cut-off.
    """

    alpha: float
    alpha_ok: bool
    alpha_weighted: float
    log_norm: float
    log_spectral_norm: float
    log_alpha_norm: float
    stable_rank: float
    mp_softrank: float
    hard_rank: int
    entropy: float
    lambda_max: float
    lambda_plus: float
    num_spikes: int
    M: int
    Q: float
    xmin: float

    # the former field names, kept for one release
    @property
    def weighted_alpha(self) -> float:
        return _renamed(self, "weighted_alpha", "alpha_weighted")

    @property
    def log_frobenius_norm(self) -> float:
        return _renamed(self, "log_frobenius_norm", "log_norm")

    @property
    def mp_soft_rank(self) -> float:
        return _renamed(self, "mp_soft_rank", "mp_softrank")

    @property
    def matrix_entropy(self) -> float:
        return _renamed(self, "matrix_entropy", "entropy")


def _renamed(m: Metrics, old: str, new: str) -> Any:
    warnings.warn(
        f"Metrics.{old} is deprecated and will be removed in the next release; use Metrics.{new}",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(m, new)


def summary(
    evals: Float[Array, " m"], Q: float, *, rtol: float | None = None, **powerlaw_kwargs: Any
) -> Metrics:
    """Every metric of :mod:`htrmt.metrics` for one ESD, as a frozen dataclass.

    The power-law fit (``htrmt.fit.powerlaw``, ``throw=False``) and the MP bulk fit
    (``htrmt.fit.marchenko_pastur``) are made once and shared. When the power-law fit cannot be
    made, ``alpha_ok`` is False and the α-based metrics are NaN (the status says so).

    Runs on the host (NumPy fits, Python floats out): under ``jit``/``vmap``/``grad`` it raises a
    ``TypeError``; the individual metric functions are jittable.

    Args:
        evals: 1-D eigenvalues.
        Q: aspect ratio ``N/M >= 1``.
        rtol: hard-rank tolerance (default ``M·eps``).
        **powerlaw_kwargs: passed to the power-law fit.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.pareto(jax.random.key(0), (1000, 500), mu=2.5))
        >>> m = ht.metrics.summary(lam, 2.0)
    """
    from ..fit import marchenko_pastur, powerlaw

    require_host(
        "htrmt.metrics.summary",
        evals,
        Q,
        hint="the metric functions of htrmt.metrics (jittable given alpha= and lambda_plus=)",
    )
    check_scalar(Q, "Q", ge=1.0)
    x = S._evals(evals)
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D (one spectrum), got shape {x.shape}")
    pl = powerlaw(x, throw=False, **powerlaw_kwargs)
    ok = bool(pl.ok)
    a = float(pl.alpha) if ok else math.nan
    try:
        mp = marchenko_pastur(x, Q)
        lam_plus, n_sp = mp.lambda_plus, mp.num_spikes
    except ValueError:
        lam_plus, n_sp = math.nan, 0
    lmax = float(np.max(np.asarray(x)))
    return Metrics(
        alpha=a,
        alpha_ok=ok,
        alpha_weighted=float(S.alpha_weighted(x, alpha=a)) if ok else math.nan,
        log_norm=float(S.log_norm(x)),
        log_spectral_norm=float(S.log_spectral_norm(x)),
        log_alpha_norm=float(S.log_alpha_norm(x, alpha=a)) if ok else math.nan,
        stable_rank=float(S.stable_rank(x)),
        mp_softrank=lam_plus / lmax,
        hard_rank=int(S.hard_rank(x, rtol=rtol)),
        entropy=float(S.entropy(x, rtol=rtol)),
        lambda_max=lmax,
        lambda_plus=float(lam_plus),
        num_spikes=int(n_sp),
        M=int(x.shape[-1]),
        Q=float(Q),
        xmin=float(pl.xmin) if ok else math.nan,
    )
