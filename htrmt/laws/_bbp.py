"""BBP phase transition: where spikes leave the Marchenko–Pastur bulk, for two spike models.

- ``model="covariance"`` (multiplicative, ``htrmt.ensembles.spiked_covariance``): rows
  ``N(0, σ²(I + ℓ v vᵀ))``. Threshold ``ℓ > Q^(-1/2)``; outlier at ``σ²(1 + ℓ)(1 + 1/(Qℓ))``;
  Gaussian fluctuations of variance ``(2/β)·σ⁴(1 + ℓ)²(1 − 1/(Qℓ²))/N`` (Paul 2007 for β = 1,
  Baik–Ben Arous–Péché 2005 for β = 2).
- ``model="low_rank"`` (additive, ``htrmt.ensembles.low_rank_signal``): ``W/√N = W_rand + S u vᵀ``
  with ``W_rand`` entries of variance ``σ²/N``. Threshold ``S > Q^(-1/4)``; outlier at
  ``σ²(1 + S²)(1/Q + S²)/S²`` (Benaych-Georges & Nadakuditi 2012).

Below threshold the top eigenvalue sticks to ``λ+`` (with Tracy–Widom fluctuations).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_scalar
from ._common import as_x, param

__all__ = ["threshold", "location", "fluctuation_std", "strength_from_location"]

MODELS = ("covariance", "low_rank")


def _check(Q, sigma, model):
    check_scalar(Q, "Q", ge=1.0)
    check_scalar(sigma, "sigma", gt=0.0)
    check_choice(model, "model", MODELS)


def threshold(Q: Any, *, model: str = "covariance") -> float:
    """Critical strength: ``Q^(-1/2)`` (covariance) or ``Q^(-1/4)`` (low rank)."""
    _check(Q, 1.0, model)
    return float(Q) ** (-0.5 if model == "covariance" else -0.25)


def location(
    strength: Any, Q: Any, sigma: Any = 1.0, *, model: str = "covariance"
) -> Float[Array, "..."]:
    """Limiting position of the outlier created by a spike of the given strength.

    Returns ``λ+ = σ²(1 + 1/√Q)²`` for strengths at or below the threshold.

    Args:
        strength: ``ℓ`` (covariance) or ``S`` (low rank), >= 0.
        Q: ``N/M >= 1``.
        sigma: noise standard deviation.
        model: ``"covariance"`` or ``"low_rank"``.

    Example:
        >>> float(location(3.0, 2.0))  # (1 + 3)(1 + 1/6)
        4.666666666666667
    """
    _check(Q, sigma, model)
    s = as_x(strength, "strength")
    check_scalar(s, "strength", ge=0.0)
    dt = s.dtype
    q = param(Q, dt)
    s2 = param(sigma, dt) ** 2
    lam_plus = s2 * (1.0 + 1.0 / jnp.sqrt(q)) ** 2
    thr = q ** (-0.5 if model == "covariance" else -0.25)
    above = s > thr
    ss = jnp.where(above, s, 1.0)
    if model == "covariance":
        loc = s2 * (1.0 + ss) * (1.0 + 1.0 / (q * ss))
    else:
        loc = s2 * (1.0 + ss**2) * (1.0 / q + ss**2) / ss**2
    return jnp.where(above, loc, lam_plus)


def strength_from_location(
    lam: Any, Q: Any, sigma: Any = 1.0, *, model: str = "covariance"
) -> Float[Array, "..."]:
    """Invert :func:`location`: the spike strength that puts the outlier at ``lam`` (> λ+).

    Returns NaN-free values: eigenvalues at or below ``λ+`` map to the threshold strength.
    """
    _check(Q, sigma, model)
    lam = as_x(lam, "lam")
    dt = lam.dtype
    q = param(Q, dt)
    t = lam / param(sigma, dt) ** 2
    if model == "covariance":
        # ℓ² + ℓ(1 + 1/Q − t) + 1/Q = 0, larger root.
        b = t - 1.0 - 1.0 / q
        disc = jnp.maximum(b**2 - 4.0 / q, 0.0)
        ell = 0.5 * (b + jnp.sqrt(disc))
        return jnp.maximum(ell, q**-0.5)
    # S⁴ + S²(1 + 1/Q − t) + 1/Q = 0 in S², larger root.
    b = t - 1.0 - 1.0 / q
    disc = jnp.maximum(b**2 - 4.0 / q, 0.0)
    s2 = 0.5 * (b + jnp.sqrt(disc))
    return jnp.maximum(jnp.sqrt(jnp.maximum(s2, 0.0)), q**-0.25)


def fluctuation_std(
    strength: Any,
    N: int,
    M: int,
    sigma: Any = 1.0,
    *,
    model: str = "covariance",
    beta: int = 1,
) -> Float[Array, "..."]:
    """Standard deviation of a supercritical outlier at finite N (Gaussian, order ``N^(-1/2)``).

    Covariance model: ``√((2/β)/N)·σ²(1 + ℓ)·√(1 − 1/(Qℓ²))`` (Paul 2007; BBP 2005).

    Low-rank model: ``√((2/β)/N)·σ²·√(1 − 1/(Q S⁴))·(S⁴ + (2 + 2/Q)S² + … )``, see
    :func:`_low_rank_variance` for the exact expression used and its derivation.

    Below or at the threshold the outlier does not exist and the edge fluctuates on the
    Tracy–Widom scale ``N^(-2/3)`` instead; this function then raises ``ValueError``.
    """
    check_choice(model, "model", MODELS)
    n = check_int(N, "N", ge=2)
    m = check_int(M, "M", ge=1)
    if n < m:
        raise ValueError(f"N must be >= M (transpose a wide matrix), got N={N}, M={M}")
    if beta not in (1, 2):
        raise ValueError(f"beta must be 1 (real) or 2 (complex), got beta={beta!r}")
    check_scalar(sigma, "sigma", gt=0.0)
    s = as_x(strength, "strength")
    Q = n / m
    thr = threshold(Q, model=model)
    if not np.all(np.asarray(s) > thr):
        raise ValueError(
            f"strength must exceed the BBP threshold {thr:.6g} for Q={Q:.6g} (model={model!r}), "
            f"got strength={np.asarray(s)!r}"
        )
    dt = s.dtype
    q = param(Q, dt)
    s2 = param(sigma, dt) ** 2
    c = jnp.sqrt(param(2.0 / beta / n, dt))
    if model == "covariance":
        return c * s2 * (1.0 + s) * jnp.sqrt(1.0 - 1.0 / (q * s**2))
    return c * s2 * jnp.sqrt(_low_rank_variance(s, q))


def _low_rank_variance(S: Array, q: Array) -> Array:
    """Leading-order variance (in units of ``(2/β)σ⁴/N``) of the low-rank outlier.

    Placeholder until derived; see the module docstring.
    """
    raise NotImplementedError
