"""Spiked models: spiked covariance (multiplicative) and additive low-rank signal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_key, check_scalar, check_shape, float_dtype

HIGHEST = jax.lax.Precision.HIGHEST  # no TF32/bf16 rounding of float32 products

__all__ = ["spiked_covariance", "low_rank_signal", "random_orthonormal"]


def _as_strengths(values: Any, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {name}={values!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {name}={values!r}")
    return arr


def random_orthonormal(key: jax.Array, batch: tuple[int, ...], n: int, k: int, dtype: Any) -> Array:
    """``k`` Haar-random orthonormal columns in R^n, shape ``batch + (n, k)``."""
    if k > n:
        raise ValueError(f"cannot draw {k} orthonormal vectors in dimension {n}")
    g = jax.random.normal(key, (*batch, n, k), dtype)
    q, r = jnp.linalg.qr(g)
    # Fix the sign ambiguity of QR so that q is Haar distributed.
    d = jnp.sign(jnp.diagonal(r, axis1=-2, axis2=-1))
    d = jnp.where(d == 0, 1.0, d).astype(dtype)
    return q * d[..., None, :]


def spiked_covariance(
    key: jax.Array,
    shape: tuple[int, ...],
    *,
    spikes: Sequence[float],
    sigma: float = 1.0,
    dtype: Any = None,
) -> Float[Array, "... n m"]:
    """Rows i.i.d. ``N(0, σ²(I + Σ_i ℓ_i v_i v_iᵀ))`` with Haar-random orthonormal ``v_i`` in R^M.

    The population covariance has eigenvalues ``σ²(1 + ℓ_i)`` (the spikes) and ``σ²``. A spike
    ``ℓ > Q^(-1/2)`` pops out of the MP bulk of ``esd(W)`` at
    ``σ²(1 + ℓ)(1 + 1/(Qℓ))`` (see ``htrmt.laws.bbp``), its eigenvector at squared overlap
    ``(1 − 1/(Qℓ²))/(1 + 1/(Qℓ))`` with ``v``; below the threshold it sticks to λ+.

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``.
        spikes: the strengths ``ℓ_i >= 0`` (at most M of them).
        sigma: noise standard deviation.
        dtype: float dtype.

    References:
        Baik, Ben Arous & Péché (2005), Ann. Probab. 33, 1643; Paul (2007), Stat. Sinica 17, 1617.
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_scalar(sigma, "sigma", gt=0)
    ell = _as_strengths(spikes, "spikes")
    dt = float_dtype(dtype)
    m = shape[-1]
    if ell.size > m:
        raise ValueError(f"spikes has {ell.size} entries but M={m}")
    kg, kv = jax.random.split(key)
    g = jax.random.normal(kg, shape, dt)
    v = random_orthonormal(kv, shape[:-2], m, ell.size, dt)  # (..., M, k)
    scale = jnp.asarray(np.sqrt(1.0 + ell) - 1.0, dt)  # (k,)
    # Σ^(1/2) = I + Σ_i (√(1+ℓ_i) − 1) v_i v_iᵀ acting on each row.
    proj = jnp.matmul(g, v, precision=HIGHEST)  # (..., N, k)
    w = g + jnp.matmul(proj * scale, jnp.swapaxes(v, -1, -2), precision=HIGHEST)
    return jnp.asarray(sigma, dt) * w


def low_rank_signal(
    key: jax.Array,
    shape: tuple[int, ...],
    *,
    strengths: Sequence[float],
    sigma: float = 1.0,
    dtype: Any = None,
) -> Float[Array, "... n m"]:
    """Additive low-rank signal plus noise: ``W = σ (G + √N Σ_i S_i u_i v_iᵀ)``.

    ``G`` has i.i.d. ``N(0, 1)`` entries; ``u_i`` (in R^N) and ``v_i`` (in R^M) are Haar-random
    orthonormal sets. In the normalisation of ``htrmt.esd`` (``WᵀW/N``) this is the model
    ``W/√N = σ(Z + Σ_i S_i u_i v_iᵀ)`` with ``Z = G/√N`` of i.i.d. ``N(0, 1/N)`` entries: the
    noise scale ``σ`` multiplies the signal too, so ``S`` is a signal-to-noise ratio. A strength
    ``S > Q^(-1/4)`` gives an outlier at ``σ²(1 + S²)(1/Q + S²)/S²``, whose singular vectors
    overlap ``u`` and ``v`` as ``htrmt.laws.bbp.overlap`` says.

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``.
        strengths: the signal strengths ``S_i >= 0``.
        sigma: noise standard deviation.
        dtype: float dtype.

    References:
        Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, 120.
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_scalar(sigma, "sigma", gt=0)
    s = _as_strengths(strengths, "strengths")
    dt = float_dtype(dtype)
    n, m = shape[-2:]
    if s.size > min(n, m):
        raise ValueError(f"strengths has {s.size} entries but min(N, M)={min(n, m)}")
    kg, ku, kv = jax.random.split(key, 3)
    g = jax.random.normal(kg, shape, dt)
    u = random_orthonormal(ku, shape[:-2], n, s.size, dt)
    v = random_orthonormal(kv, shape[:-2], m, s.size, dt)
    signal = jnp.matmul(
        u * jnp.asarray(s * np.sqrt(n), dt), jnp.swapaxes(v, -1, -2), precision=HIGHEST
    )
    return jnp.asarray(sigma, dt) * (g + signal)
