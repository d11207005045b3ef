"""BBP phase transition: where spikes leave the Marchenko–Pastur bulk, for two spike models.

- ``model="covariance"`` (multiplicative, ``htrmt.ensembles.spiked_covariance``): rows
  ``N(0, σ²(I + ℓ v vᵀ))``. Threshold ``ℓ > Q^(-1/2)``; outlier at ``σ²(1 + ℓ)(1 + 1/(Qℓ))``;
  Gaussian fluctuations of variance ``(2/β)·σ⁴(1 + ℓ)²(1 − 1/(Qℓ²))/N`` (Paul 2007 for β = 1,
  Baik–Ben Arous–Péché 2005 for β = 2).
- ``model="low_rank"`` (additive, ``htrmt.ensembles.low_rank_signal``): ``W/√N = W_rand + S u vᵀ``
  with ``W_rand`` entries of variance ``σ²/N``. Threshold ``S > Q^(-1/4)``; outlier at
  ``σ²(1 + S²)(1/Q + S²)/S²`` (Benaych-Georges & Nadakuditi 2012); Gaussian fluctuations of
  variance ``(2/β)·σ⁴(1 − 1/(Q S⁴))(1 + 1/Q + 2S²)/N`` (derived in :func:`_low_rank_variance`).

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
        >>> round(float(location(3.0, 2.0)), 6)  # (1 + 3)(1 + 1/6)
        4.666667
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

    Low-rank model: ``√((2/β)/N)·σ²·√((1 − 1/(Q S⁴))(1 + 1/Q + 2S²))``, see
    :func:`_low_rank_variance` for the derivation.

    Both are leading-order (Gaussian noise, ``N → ∞`` at fixed ``Q = N/M``); the mean of the
    outlier also carries an ``O(1/N)`` bias that is not included in :func:`location`.

    Args:
        strength: ``ℓ`` (covariance) or ``S`` (low rank), above :func:`threshold`.
        N: rows (``N >= M``).
        M: columns.
        sigma: noise standard deviation.
        model: ``"covariance"`` or ``"low_rank"``.
        beta: 1 for real Gaussian noise, 2 for complex.

    Returns:
        The standard deviation of the top eigenvalue of ``WᵀW/N``, shape and dtype of ``strength``.

    Raises:
        ValueError: ``N < M``, ``beta`` not 1 or 2, an unknown ``model``, ``sigma <= 0``, or a
            strength at or below the threshold. Below or at the threshold the outlier does not
            exist and the edge fluctuates on the Tracy–Widom scale ``N^(-2/3)`` instead.

    Example:
        >>> round(float(fluctuation_std(2.0, 800, 400, model="low_rank")), 6)
        0.151683

    References:
        Paul (2007), Stat. Sinica 17, 1617, Thm 3; Baik, Ben Arous & Péché (2005), Ann. Probab.
        33, 1643; Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, 120.
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

    ``V(S, Q) = (1 − 1/(Q S⁴))·(1 + 1/Q + 2S²)``, i.e.
    ``Var λ_max = (2/β)·σ⁴·(1 − 1/(Q S⁴))(1 + 1/Q + 2S²)/N + o(1/N)``.

    Derivation (σ = 1, ``c = 1/Q``, ``X = W/√N = X₀ + S u vᵀ``): ``λ`` outside the spectrum of
    ``X₀ᵀX₀`` is an eigenvalue of ``XᵀX`` iff (Schur complement of the rank-two perturbation of
    the Hermitisation ``[[0, X], [Xᵀ, 0]]``)

        ``S²·λ·A(λ)·B(λ) = |1 − S·C(λ)|²``,

    with ``A = uᵀ(λ − X₀X₀ᵀ)⁻¹u``, ``B = vᵀ(λ − X₀ᵀX₀)⁻¹v`` and ``C = uᵀX₀(λ − X₀ᵀX₀)⁻¹v``.
    For Gaussian ``X₀ = O₁ΣO₂ᵀ`` with independent Haar ``O₁``, ``O₂``, so ``O₁ᵀu`` and ``O₂ᵀv`` are
    independent uniform unit vectors: ``A``, ``B``, ``C`` are uncorrelated, ``A → m₁``, ``B → m₂``
    (Stieltjes transforms of the ``N×N`` and ``M×M`` limits), ``C → 0``, with fluctuations of
    variance ``(2/β)/N·(−m₁' − m₁²)``, ``(2/β)/M·(−m₂' − m₂²)`` and, for ``Re C``,
    ``(1/β)/N·(−λm₂' − m₂)`` (the trace parts fluctuate only at order ``1/N``). At the limit
    ``λ₀ = (1 + S²)(c + S²)/S²``: ``m₁ = 1/(1 + S²)``, ``m₂ = 1/(c + S²)`` and
    ``D(λ) = λm₁m₂`` has ``D(λ₀) = 1/S²``, ``D'(λ₀) = −1/(S⁴ − c)``. Linearising the secular
    equation, ``λ̂ − λ₀ ≈ −[S²λ₀(m₂δA + m₁δB) + 2S·Re δC] / (S²D'(λ₀))``, whose variance
    simplifies to ``(2/β)/N·(S⁴ − c)(1 + c + 2S²)/S⁴``.

    Checks: it vanishes at the threshold ``S⁴ = c``; for ``S → ∞`` it is ``2S²`` (units of
    ``2/N``), i.e. ``Var λ ≈ 4S²/N``, as ``λ ≈ (S + X₀[u, v])²`` with ``X₀[u, v] ~ N(0, 1/N)``;
    for ``Q → ∞`` it is ``1 + 2S²``, as ``λ ≈ ‖X₀v‖² + 2S·uᵀX₀v + S²`` with ``‖X₀v‖² ~ χ²_N/N``
    independent of ``uᵀX₀v``.
    Simulated (real noise, Q = 2; 20000 trials at N = 100, 5000 at N = 400, 1000–4000 at
    N = 800 and 1600; S from 1 to 4): sample std over this value was 0.98–1.04, each within
    about two standard errors of 1; near the threshold (S = 1) it was 1.07 at N = 50, 1.02 at
    N = 100 and within 2.5 % of 1 at N = 800 and 1600. Complex noise (β = 2, N = 800): 0.98–1.00.

    References:
        Secular equation: Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, 120
        (the determinant condition). Method (Gaussian fluctuations of resolvent quadratic forms
        under a finite-rank deformation): Benaych-Georges, Guionnet & Maida (2011), Electron.
        J. Probab. 16, 1621. No published closed form for this model was located to compare
        against; the expression rests on the derivation, the limits above and the simulations.
    """
    S2 = S * S
    return (1.0 - 1.0 / (q * S2 * S2)) * (1.0 + 1.0 / q + 2.0 * S2)
