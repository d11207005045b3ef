"""Gaussian (Marchenko–Pastur) and Wigner samplers."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_choice, check_key, check_scalar, check_shape, float_dtype

__all__ = ["gaussian", "wigner"]


def gaussian(
    key: jax.Array, shape: tuple[int, ...], *, sigma: float = 1.0, dtype: Any = None
) -> Float[Array, "... n m"]:
    """I.i.d. real Gaussian entries ``N(0, sigma^2)``: the Marchenko–Pastur class.

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``; leading axes are a batch of independent matrices.
        sigma: entry standard deviation (> 0).
        dtype: float dtype; default follows ``jax_enable_x64``.

    Returns:
        An array of ``shape``. ``htrmt.esd`` of it follows MP with ``Q = N/M`` and ``sigma``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.gaussian(jax.random.key(0), (200, 100))
        >>> W.shape
        (200, 100)

    References:
        Marchenko & Pastur (1967), Math. USSR Sb. 1, 457.
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_scalar(sigma, "sigma", gt=0)
    dt = float_dtype(dtype)
    return _gaussian(key, jnp.asarray(sigma, dt), shape, dt)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _gaussian(key, sigma, shape, dt):
    # one compilation per (shape, dtype); a flat draw (same numbers, faster to compile)
    return sigma * jax.random.normal(key, (math.prod(shape),), dt).reshape(shape)


def wigner(
    key: jax.Array,
    shape: tuple[int, ...],
    *,
    sigma: float = 1.0,
    entries: str = "gaussian",
    mu: float | None = None,
    dtype: Any = None,
) -> Float[Array, "... n n"]:
    """Real symmetric Wigner matrix ``H = (A + Aᵀ)/√(2N)`` (off-diagonal variance ``sigma²/N``).

    With Gaussian entries this is the GOE scaled so that its spectrum fills the semicircle on
    ``[-2σ, 2σ]``. With ``entries="pareto"`` the entries of ``A`` are symmetric Pareto with tail
    index ``mu`` (unit scale), divided by ``√(2N)`` as well (for ``mu < 2`` the spectrum then
    grows with N; rescale by ``N^(1/2 - 1/mu)`` for a finite Lévy limit).

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, N)``.
        sigma: off-diagonal standard deviation times √N (Gaussian entries only).
        entries: ``"gaussian"`` or ``"pareto"``.
        mu: tail index for ``entries="pareto"``.
        dtype: float dtype.

    Returns:
        Symmetric matrices of ``shape``; eigenvalues via ``jnp.linalg.eigvalsh``.

    References:
        Wigner (1958), Ann. Math. 67, 325.
    """
    from ._heavy_tailed import pareto

    key = check_key(key)
    shape = check_shape(shape)
    if shape[-1] != shape[-2]:
        raise ValueError(f"shape must be square (..., N, N) for a Wigner matrix, got shape={shape}")
    check_choice(entries, "entries", ("gaussian", "pareto"))
    check_scalar(sigma, "sigma", gt=0)
    dt = float_dtype(dtype)
    n = shape[-1]
    if entries == "gaussian":
        A = jnp.asarray(sigma, dt) * jax.random.normal(key, shape, dt)
    else:
        if mu is None:
            raise ValueError("entries='pareto' needs the tail index mu, got mu=None")
        A = pareto(key, shape, mu=mu, dtype=dt)
    return (A + jnp.swapaxes(A, -1, -2)) / jnp.sqrt(jnp.asarray(2.0 * n, dt))
