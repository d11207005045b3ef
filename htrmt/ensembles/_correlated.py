"""Gaussian samples with a general population covariance."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_choice, check_key, check_shape, float_dtype
from ._spiked import random_orthonormal

HIGHEST = jax.lax.Precision.HIGHEST  # no TF32/bf16 rounding of float32 products

__all__ = ["correlated"]


def correlated(
    key: jax.Array,
    shape: tuple[int, ...],
    *,
    population_eigenvalues: Any,
    basis: str = "identity",
    dtype: Any = None,
) -> Float[Array, "... n m"]:
    """Rows i.i.d. ``N(0, Σ)`` with ``Σ = O diag(population_eigenvalues) Oᵀ``.

    The ESD of ``WᵀW/N`` follows the generalised MP law of Σ's spectrum (Silverstein 1995).

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``.
        population_eigenvalues: M non-negative eigenvalues of Σ (or a scalar, broadcast).
        basis: ``"identity"`` (O = I) or ``"random"`` (Haar-random O per matrix).
        dtype: float dtype.

    References:
        Silverstein (1995), J. Multivariate Anal. 55, 331.
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_choice(basis, "basis", ("identity", "random"))
    dt = float_dtype(dtype)
    m = shape[-1]
    pe = np.asarray(population_eigenvalues, dtype=np.float64)
    if pe.ndim == 0:
        pe = np.full((m,), float(pe))
    if pe.shape != (m,):
        raise ValueError(f"population_eigenvalues must have length M={m}, got shape {pe.shape}")
    if not np.all(np.isfinite(pe)) or np.any(pe < 0):
        raise ValueError("population_eigenvalues must be finite and >= 0")
    kg, ko = jax.random.split(key)
    w = jax.random.normal(kg, shape, dt) * jnp.asarray(np.sqrt(pe), dt)
    if basis == "random":
        o = random_orthonormal(ko, shape[:-2], m, m, dt)
        w = jnp.matmul(w, jnp.swapaxes(o, -1, -2), precision=HIGHEST)
    return w
