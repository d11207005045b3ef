"""BBP phase transition: where spikes leave the Marchenko–Pastur bulk, for two spike models.

- ``model="covariance"`` (multiplicative, ``htrmt.ensembles.spiked_covariance``): rows
  ``N(0, σ²(I + ℓ v vᵀ))``. Threshold ``ℓ > Q^(-1/2)``; outlier at ``σ²(1 + ℓ)(1 + 1/(Qℓ))``;
  Gaussian fluctuations of variance ``(2/β)·σ⁴(1 + ℓ)²(1 − 1/(Qℓ²))/N`` (Paul 2007 for β = 1,
  Baik–Ben Arous–Péché 2005 for β = 2); squared overlap of the top eigenvector of ``WᵀW/N``
  with ``v``: ``(1 − 1/(Qℓ²))/(1 + 1/(Qℓ))`` (Paul 2007).
- ``model="low_rank"`` (additive, ``htrmt.ensembles.low_rank_signal``): ``W/√N = σ(Z + S u vᵀ)``
  with ``Z`` of i.i.d. ``N(0, 1/N)`` entries and unit ``u`` (in R^N), ``v`` (in R^M). Threshold
  ``S > Q^(-1/4)``; outlier at ``σ²(1 + S²)(1/Q + S²)/S²`` (Benaych-Georges & Nadakuditi 2012);
  Gaussian fluctuations of variance ``(2/β)·σ⁴(1 − 1/(Q S⁴))(1 + 1/Q + 2S²)/N`` (derived in
  :func:`_low_rank_variance`); squared overlaps of the top singular vectors with ``v`` (right)
  and ``u`` (left): ``(S⁴ − 1/Q)/(S²(S² + 1/Q))`` and ``(S⁴ − 1/Q)/(S²(S² + 1))``.

Below threshold the top eigenvalue sticks to ``λ+`` (with Tracy–Widom fluctuations) and its
eigenvector is asymptotically orthogonal to the planted direction (overlap 0). The mean of a
supercritical outlier sits ``O(1/N)`` from :func:`location`; :func:`mean_bias` gives that term.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_scalar, is_concrete
from ._common import as_x, param

__all__ = [
    "threshold",
    "location",
    "fluctuation_std",
    "strength_from_location",
    "overlap",
    "mean_bias",
]

MODELS = ("covariance", "low_rank")
SIDES = ("right", "left")


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


def _check_finite_n(strength, N, M, sigma, model, beta):
    """Shared checks of the finite-N laws: returns ``(strength array, N, Q)``."""
    check_choice(model, "model", MODELS)
    n = check_int(N, "N", ge=2)
    m = check_int(M, "M", ge=1)
    if n < m:
        raise ValueError(f"N must be >= M (transpose a wide matrix), got N={N}, M={M}")
    if isinstance(beta, bool) or beta not in (1, 2):
        raise ValueError(f"beta must be 1 (real) or 2 (complex), got beta={beta!r}")
    check_scalar(sigma, "sigma", gt=0.0)
    s = as_x(strength, "strength")
    Q = n / m
    thr = threshold(Q, model=model)
    if not is_concrete(s):
        s = eqx.error_if(s, ~(s > thr), "strength must exceed the BBP threshold")
    elif not np.all(np.asarray(s) > thr):
        raise ValueError(
            f"strength must exceed the BBP threshold {thr:.6g} for Q={Q:.6g} (model={model!r}), "
            f"got strength={np.asarray(s)!r}"
        )
    return s, n, Q


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
    outlier also carries an ``O(1/N)`` bias that is not included in :func:`location` and is
    given by :func:`mean_bias`.

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
    s, n, Q = _check_finite_n(strength, N, M, sigma, model, beta)
    dt = s.dtype
    q = param(Q, dt)
    s2 = param(sigma, dt) ** 2
    c = jnp.sqrt(param(2.0 / beta / n, dt))
    if model == "covariance":
        return c * s2 * (1.0 + s) * jnp.sqrt(1.0 - 1.0 / (q * s**2))
    return c * s2 * jnp.sqrt(_low_rank_variance(s, q))


def overlap(
    strength: Any, Q: Any, *, model: str = "covariance", side: str = "right"
) -> Float[Array, "..."]:
    """Limiting squared overlap of the outlier's eigenvector with the planted direction.

    With ``c = 1/Q`` and ``v̂`` the top eigenvector of ``WᵀW/N`` (unit, in R^M), ``û = Wv̂/‖Wv̂‖``
    the matching left singular vector (in R^N), and ``u``, ``v`` the planted unit directions:

    - covariance, ``side="right"``: ``⟨v̂, v⟩² → (1 − c/ℓ²)/(1 + c/ℓ) = (ℓ² − c)/(ℓ(ℓ + c))``
      (Paul 2007, Thm 4). This model plants no direction in R^N, so ``side="left"`` is refused.
    - low rank, ``side="right"``: ``⟨v̂, v⟩² → (S⁴ − c)/(S²(S² + c))``;
      ``side="left"``: ``⟨û, u⟩² → (S⁴ − c)/(S²(S² + 1))`` (Benaych-Georges & Nadakuditi 2012,
      Sec. 3.1, with their ``n×m``, ``c = n/m`` matrix the transpose of ``W/√N``).

    At or below the BBP threshold (:func:`threshold`) the overlap is 0: the top eigenvector is
    asymptotically orthogonal to the planted direction (its overlap is ``O(1/N)``, not a law of
    large numbers). The function returns exactly 0 there, never NaN; the overlap rises
    continuously from 0 at the threshold to 1 as the strength grows. The noise scale ``σ`` does
    not enter. With several spikes of distinct strengths, each eigenvector's overlap with its own
    direction is given by its own strength, and its overlaps with the other directions vanish.

    Args:
        strength: ``ℓ`` (covariance) or ``S`` (low rank), >= 0; any shape.
        Q: ``N/M >= 1``.
        model: ``"covariance"`` or ``"low_rank"``.
        side: ``"right"`` (the eigenvector of ``WᵀW/N``, in R^M) or ``"left"`` (in R^N; low-rank
            model only).

    Returns:
        Squared overlaps in ``[0, 1)``, shape and dtype of ``strength``.

    Raises:
        ValueError: ``Q < 1``, a negative or non-finite strength, an unknown ``model`` or
            ``side``, or ``side="left"`` with ``model="covariance"``.

    Example:
        >>> round(float(overlap(2.0, 2.0)), 6)  # (4 − 1/2)/(2·(2 + 1/2))
        0.7
        >>> [round(float(x), 6) for x in overlap([0.5, 2.0], 2.0, model="low_rank", side="left")]
        [0.0, 0.775]

    References:
        Paul (2007), Stat. Sinica 17, 1617, Thm 4; Benaych-Georges & Nadakuditi (2012),
        J. Multivariate Anal. 111, 120, Sec. 3.1 (Gaussian rectangular matrices).
    """
    _check(Q, 1.0, model)
    check_choice(side, "side", SIDES)
    if model == "covariance" and side == "left":
        raise ValueError(
            "the covariance model plants no direction in R^N; side='left' needs model='low_rank', "
            f"got model={model!r}, side={side!r}"
        )
    s = as_x(strength, "strength")
    check_scalar(s, "strength", ge=0.0)
    dt = s.dtype
    q = param(Q, dt)
    c = 1.0 / q
    thr = q ** (-0.5 if model == "covariance" else -0.25)
    above = s > thr
    ss = jnp.where(above, s, 2.0 * thr)  # a safe value where the formula is not used
    if model == "covariance":
        out = (ss**2 - c) / (ss * (ss + c))
    else:
        s2 = ss**2
        out = (s2 * s2 - c) / (s2 * (s2 + (c if side == "right" else 1.0)))
    return jnp.where(above, out, jnp.zeros_like(out))


def mean_bias(
    strength: Any,
    N: int,
    M: int,
    sigma: Any = 1.0,
    *,
    model: str = "covariance",
    beta: int = 1,
) -> Float[Array, "..."]:
    """The ``O(1/N)`` bias of a supercritical outlier's mean: ``E λ_max − location ≈ σ²·b/N``.

    With ``c = M/N`` and ``ℓ`` the strength (covariance) or ``ℓ = S²`` (low rank),

    - covariance: ``b = −(1 + ℓ)/ℓ + (2/β − 1)·c(1 + ℓ)²/(ℓ(ℓ² − c))``;
    - low rank: ``b = −(1 + ℓ)/ℓ − (2/β)·c/ℓ + (2/β − 1)·c(1 + ℓ)²/(ℓ(ℓ² − c))``.

    So ``E λ_max = location(strength, N/M, sigma) + mean_bias(...) + O(N^(-2))`` at fixed
    strength above the threshold. The expansion needs the strength well above the threshold
    (``ℓ − √c ≫ N^(-1/3)``): ``b`` diverges there, where the outlier merges with the
    Tracy–Widom edge.

    Derivation (σ = 1). Rotate so the planted directions are the first basis vectors and split
    ``W/√N = [x₁, Z₂]``, ``Z₂`` the other ``M − 1`` columns, ``B = Z₂Z₂ᵀ``. An eigenvalue of
    ``WᵀW/N`` outside the spectrum of ``B`` solves ``x₁ᵀ(λ − B)⁻¹x₁ = 1``. Covariance:
    ``x₁ = √(1 + ℓ)·g/√N``; low rank: ``x₁ = S·e₁ + g/√N``, with ``g ~ N(0, I_N)`` independent of
    ``B`` and ``e₁`` uniform relative to the eigenbasis of ``B``. Given ``B`` the left side is
    ``(1 + ℓ)m_B(λ) + δ(λ)``, ``m_B = tr(λ − B)⁻¹/N`` and ``E[δ | B] = 0``; expanding the root to
    second order, ``E Δλ = (1/(2F'))·d/dλ(V/F')`` with ``F = (1 + ℓ)m_B`` and ``V = E[δ² | B]``.
    For the covariance model ``V = −(2/β)(1 + ℓ)²m_B'/N`` and the term vanishes; for the low-rank
    model (``e₁`` on the sphere) ``V = (2/β)[(1 + ℓ)²(−m_B') − ℓ²m_B²]/N`` and it is
    ``−(2/β)c/(ℓN)``. The rest comes from ``E m_B``: the ``M − 1`` noise columns shift ``c`` to
    ``c − 1/N`` (the ``−(1 + ℓ)/(ℓN)``), and for real noise the ``1/N`` mean of the linear
    statistic ``tr(λ − B)⁻¹`` (Bai & Silverstein 2004, Thm 1.1, eq. (1.6)), which for
    ``f(x) = 1/(λ − x)`` is ``¼(1/√(λ − a) − 1/√(λ − b))² = ℓc/(ℓ² − c)²`` at the outlier
    (``a, b = (1 ∓ √c)²``); it vanishes for complex noise. Checks: ``M = 1`` (where ``λ_max`` is
    ``‖x₁‖²``, of mean ``1 + ℓ`` exactly) gives ``b = −(1 + ℓ)/ℓ`` for both models. Simulated
    (real noise, Q = 2; see the tests): ``N·(mean − location)`` matches ``b`` within its
    standard error at N = 50 to 200.

    Args:
        strength: ``ℓ`` (covariance) or ``S`` (low rank), above :func:`threshold`.
        N: rows (``N >= M``).
        M: columns.
        sigma: noise standard deviation.
        model: ``"covariance"`` or ``"low_rank"``.
        beta: 1 for real Gaussian noise, 2 for complex.

    Returns:
        ``σ²·b/N``, shape and dtype of ``strength``.

    Raises:
        ValueError: as :func:`fluctuation_std` (a strength at or below the threshold included).

    Example:
        >>> round(float(mean_bias(2.0, 200, 100)), 6)  # b = −1.5 + 0.5·9/(2·3.5)
        -0.004286

    References:
        Bai & Silverstein (2004), Ann. Probab. 32, 553 (mean of linear spectral statistics);
        Baik & Silverstein (2006), J. Multivariate Anal. 97, 1382 (the secular equation);
        Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, 120.
    """
    s, n, Q = _check_finite_n(strength, N, M, sigma, model, beta)
    dt = s.dtype
    c = param(1.0 / Q, dt)
    ell = s if model == "covariance" else s * s
    k = param(2.0 / beta, dt)
    b = -(1.0 + ell) / ell + (k - 1.0) * c * (1.0 + ell) ** 2 / (ell * (ell * ell - c))
    if model == "low_rank":
        b = b - k * c / ell
    return param(sigma, dt) ** 2 * b / param(n, dt)


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
