"""Semicircle ``ρ(x) = √(4σ² − x²)/(2πσ²)`` on ``[−2σ, 2σ]``.

The limiting ESD of a symmetric Wigner matrix with off-diagonal variance ``σ²/N``
(``htrmt.ensembles.wigner``).

Module of functions with the verbs of ``scipy.stats`` (``pdf``, ``logpdf``, ``cdf``, ``sf``,
``ppf``, ``moments``, ``sample``, plus ``edges``); ``sigma`` defaults to 1.

Example:
    >>> import htrmt as ht
    >>> round(float(ht.laws.semicircle.cdf(0.0)), 6)
    0.5

References:
    Wigner (1958), Ann. Math. 67, 325.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_scalar, float_dtype
from ._common import as_x, bisect_ppf, check_p, param, uniform_for_sample

__all__ = ["edges", "pdf", "logpdf", "cdf", "sf", "ppf", "moments", "sample"]


def _check(sigma):
    check_scalar(sigma, "sigma", gt=0.0)


def edges(sigma: Any = 1.0, *, dtype: Any = None) -> tuple[Array, Array]:
    """Support ``(−2σ, 2σ)``."""
    _check(sigma)
    s = param(sigma, float_dtype(dtype))
    return -2.0 * s, 2.0 * s


def pdf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    _check(sigma)
    x = as_x(x)
    s = param(sigma, x.dtype)
    inside = jnp.abs(x) < 2 * s
    r = jnp.sqrt(jnp.maximum(4 * s**2 - x**2, 0.0))
    return jnp.where(inside, r / (2 * jnp.pi * s**2), 0.0)


def logpdf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    _check(sigma)
    x = as_x(x)
    s = param(sigma, x.dtype)
    inside = jnp.abs(x) < 2 * s
    v = jnp.where(inside, 4 * s**2 - x**2, 1.0)
    return jnp.where(inside, 0.5 * jnp.log(v) - jnp.log(2 * jnp.pi * s**2), -jnp.inf)


def _cdf_u(u):
    uc = jnp.clip(u, -1.0, 1.0)  # u = x / (2σ)
    val = 0.5 + (uc * jnp.sqrt(jnp.maximum(1 - uc**2, 0.0)) + jnp.arcsin(uc)) / jnp.pi
    return jnp.clip(val, 0.0, 1.0)


def cdf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """``F(x) = 1/2 + [u√(1−u²) + asin u]/π`` with ``u = x/(2σ)``."""
    _check(sigma)
    x = as_x(x)
    return _cdf_u(x / (2 * param(sigma, x.dtype)))


def sf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    return cdf(-as_x(x), sigma)


def ppf(p: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    _check(sigma)
    p = check_p(p)
    u = bisect_ppf(_cdf_u, p, -1.0, 1.0)
    return 2 * param(sigma, p.dtype) * u


def moments(sigma: Any = 1.0) -> tuple[float, float, float, float]:
    """(0, σ², 0, −1)."""
    _check(sigma)
    return 0.0, float(sigma) ** 2, 0.0, -1.0


def sample(key: Any, shape: Any, sigma: Any = 1.0, *, dtype: Any = None) -> Array:
    return ppf(uniform_for_sample(key, shape, dtype), sigma)
