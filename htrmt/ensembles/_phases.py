"""Synthetic matrices for each of the 5+1 phases of training (Martin & Mahoney).

Every generator is pure ``jax.numpy`` with static shapes, so ``phase_example`` can be jitted
and vmapped over keys (trials). The phase's free parameters (spike strengths, tail index, ...)
are drawn from the key as well, so a batch of examples covers a range of each phase, not one
point.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _random
from .._checks import check_choice, check_key, check_scalar, check_shape, float_dtype

HIGHEST = jax.lax.Precision.HIGHEST  # no TF32/bf16 rounding of float32 products

__all__ = ["phase_example", "PHASES"]

#: The 5+1 phases, in the order of training's progression (Martin & Mahoney 2021, Table 2).
PHASES = (
    "random-like",
    "bleeding-out",
    "bulk+spikes",
    "bulk-decay",
    "heavy-tailed",
    "rank-collapse",
)


def _column_scaled(key: jax.Array, shape: tuple[int, ...], t: Array, dt: Any) -> Array:
    """Rows ``N(0, diag(t))``: the ESD of ``WᵀW/N`` is the generalised MP law of ``t``.

    An orthogonal change of basis would not change the ESD (Gaussian rows are rotation
    invariant), so the population covariance is kept diagonal.
    """
    return jax.random.normal(key, shape, dt) * jnp.sqrt(t)


def phase_example(
    key: jax.Array,
    phase: str,
    shape: tuple[int, ...],
    *,
    sigma: float = 1.0,
    dtype: Any = None,
) -> Float[Array, "... n m"]:
    """A random matrix whose ESD shows the given phase of training.

    With ``Q = N/M``, ``θ = Q^(-1/2)`` the BBP threshold of a covariance spike and ``G`` an
    i.i.d. ``N(0, 1)`` matrix, the phases are (parameters drawn from ``key``, uniformly unless
    stated):

    - ``"random-like"``: ``σG``: Marchenko–Pastur, ``λ_max`` within Tracy–Widom of ``λ+``.
    - ``"bleeding-out"``: rows ``N(0, σ²(I + Σ_j ℓ_j e_j e_jᵀ))`` with ``K = max(4, M/10)``
      weak spikes ``ℓ_j ~ U(0.5θ, hθ)``, ``h ~ U(1.3, 1.8)``: a ladder of eigenvalues leaks
      past ``λ+`` without a gap (about 2% of the spectrum at M = 500).
    - ``"bulk+spikes"``: the same with ``k ~ U{1..5}`` strong spikes,
      ``ℓ_i = θ·exp(U(ln 3, ln 10))``: MP bulk plus a few outliers well above the edge
      (``htrmt.laws.bbp``).
    - ``"bulk-decay"``: population variances ``σ²(1 + A·max(0, 1 − u/f)²)`` for ``u = j/M``,
      ``A ~ U(4, 8)``, ``f ~ U(0.2, 0.4)``: a slowly decaying upper population spectrum, so the
      upper bulk is no longer MP (a long shoulder above ``λ+``, 10–30% of the mass) with no clean
      edge and no power-law tail.
    - ``"heavy-tailed"``: symmetric Pareto entries ``P(|w| > x) = x^(-µ)``, ``µ ~ U(1, 2.5)``
      (the very and moderately heavy-tailed classes), times σ: ``λ_max ≫ λ+``, power-law ESD.
    - ``"rank-collapse"``: ``σ(AB/√r + 10⁻³G)`` with ``A`` N×r, ``B`` r×M Gaussian,
      ``r = max(1, M/20)``: 95% of the eigenvalues sit near zero.

    Args:
        key: a ``jax.random`` key.
        phase: one of :data:`PHASES`.
        shape: ``(..., N, M)`` with ``N >= M`` (leading axes: a batch, one parameter draw each).
        sigma: noise / entry scale, > 0.
        dtype: float dtype (default follows ``jax_enable_x64``).

    Returns:
        An array of ``shape``.

    Raises:
        ValueError: unknown ``phase``, a bad ``shape`` or ``N < M``, ``sigma <= 0``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.phase_example(jax.random.key(0), "bulk+spikes", (1000, 500))
        >>> ht.phases.classify(ht.esd(W), 2.0).phase
        'bulk+spikes'

    References:
        Martin & Mahoney (2021), JMLR 22(165), Sec. 5 and Table 2 (the 5+1 phases).
    """
    key = check_key(key)
    check_choice(phase, "phase", PHASES)
    shape = check_shape(shape)
    check_scalar(sigma, "sigma", gt=0)
    dt = float_dtype(dtype)
    n, m = shape[-2:]
    if n < m:
        raise ValueError(f"shape must have N >= M (Q = N/M >= 1), got shape={shape}")
    batch = shape[:-2]
    theta = (n / m) ** -0.5
    kp, kw = jax.random.split(key)
    sig = jnp.asarray(sigma, dt)

    def u(k, s=(), lo=0.0, hi=1.0):
        return jax.random.uniform(k, (*batch, *s), dt, minval=lo, maxval=hi)

    if phase == "random-like":
        return sig * jax.random.normal(kw, shape, dt)

    if phase == "bulk+spikes":
        kmax = min(5, m)
        k1, k2 = jax.random.split(kp)
        count = jax.random.randint(k1, (*batch, 1), 1, kmax + 1)
        ell = theta * jnp.exp(u(k2, (kmax,), jnp.log(3.0), jnp.log(10.0)))
        ell = jnp.where(jnp.arange(kmax) < count, ell, 0.0)
        t = jnp.concatenate([1.0 + ell, jnp.ones((*batch, m - kmax), dt)], axis=-1)
        return sig * _column_scaled(kw, shape, t[..., None, :], dt)

    if phase == "bleeding-out":
        kk = min(max(4, m // 10), m)
        k1, k2 = jax.random.split(kp)
        hi = u(k1, (1,), 1.3, 1.8)
        ell = theta * (0.5 + (hi - 0.5) * u(k2, (kk,)))
        t = jnp.concatenate([1.0 + ell, jnp.ones((*batch, m - kk), dt)], axis=-1)
        return sig * _column_scaled(kw, shape, t[..., None, :], dt)

    if phase == "bulk-decay":
        k1, k2 = jax.random.split(kp)
        amp = u(k1, (1,), 4.0, 8.0)
        frac = u(k2, (1,), 0.2, 0.4)
        uu = (jnp.arange(m, dtype=dt) + 0.5) / m
        t = 1.0 + amp * jnp.maximum(0.0, 1.0 - uu / frac) ** 2
        return sig * _column_scaled(kw, shape, t[..., None, :], dt)

    if phase == "heavy-tailed":
        mu = u(kp, (1, 1), 1.0, 2.5)
        ke, ks = jax.random.split(kw)
        e = _random.exponential(ke, shape, dt)
        sign = jnp.where(jax.random.bernoulli(ks, 0.5, shape), 1.0, -1.0).astype(dt)
        return sig * sign * jnp.exp(e / mu)

    # rank-collapse
    r = max(1, m // 20)
    ka, kb, kg = jax.random.split(kw, 3)
    a = jax.random.normal(ka, (*batch, n, r), dt)
    b = jax.random.normal(kb, (*batch, r, m), dt)
    g = jax.random.normal(kg, shape, dt)
    return sig * (
        jnp.matmul(a, b, precision=HIGHEST) / jnp.sqrt(jnp.asarray(r, dt))
        + jnp.asarray(1e-3, dt) * g
    )
