"""Quarter circle ``ρ(ν) = √(4σ² − ν²)/(πσ²)`` on ``[0, 2σ]``.

The law of the singular values ``ν_i/√N`` of a square (Q = 1) matrix with i.i.d. entries of
variance σ² (``htrmt.spectra.singular_values``); ``ν²`` then follows MP with Q = 1.

Module of functions with the same verbs as :mod:`htrmt.laws.semicircle`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_scalar, float_dtype
from ._common import as_x, bisect_ppf, check_p, moments_from_raw, param, uniform_for_sample

__all__ = ["edges", "pdf", "logpdf", "cdf", "sf", "ppf", "moments", "sample"]


def _check(sigma):
    check_scalar(sigma, "sigma", gt=0.0)


def edges(sigma: Any = 1.0, *, dtype: Any = None) -> tuple[Array, Array]:
    _check(sigma)
    s = param(sigma, float_dtype(dtype))
    return 0.0 * s, 2.0 * s


def pdf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    _check(sigma)
    x = as_x(x)
    s = param(sigma, x.dtype)
    inside = (x >= 0) & (x < 2 * s)
    r = jnp.sqrt(jnp.maximum(4 * s**2 - x**2, 0.0))
    return jnp.where(inside, r / (jnp.pi * s**2), 0.0)


def logpdf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    _check(sigma)
    x = as_x(x)
    s = param(sigma, x.dtype)
    inside = (x >= 0) & (x < 2 * s)
    v = jnp.where(inside, 4 * s**2 - x**2, 1.0)
    return jnp.where(inside, 0.5 * jnp.log(v) - jnp.log(jnp.pi * s**2), -jnp.inf)


def _cdf_u(u):
    uc = jnp.clip(u, 0.0, 1.0)
    val = 2 * (uc * jnp.sqrt(jnp.maximum(1 - uc**2, 0.0)) + jnp.arcsin(uc)) / jnp.pi
    return jnp.clip(val, 0.0, 1.0)


def cdf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """``F(ν) = 2[u√(1−u²) + asin u]/π`` with ``u = ν/(2σ)``."""
    _check(sigma)
    x = as_x(x)
    return _cdf_u(x / (2 * param(sigma, x.dtype)))


def sf(x: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    return 1.0 - cdf(x, sigma)


def ppf(p: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    _check(sigma)
    p = check_p(p)
    u = bisect_ppf(_cdf_u, p, 0.0, 1.0)
    return 2 * param(sigma, p.dtype) * u


def moments(sigma: Any = 1.0) -> tuple[float, float, float, float]:
    """From the raw moments ``E ν^k``: 8σ/(3π), σ², 64σ³/(15π), 2σ⁴."""
    _check(sigma)
    s = float(sigma)
    return moments_from_raw(8 * s / (3 * jnp.pi), s**2, 64 * s**3 / (15 * jnp.pi), 2 * s**4)


def sample(key: Any, shape: Any, sigma: Any = 1.0, *, dtype: Any = None) -> Array:
    return ppf(uniform_for_sample(key, shape, dtype), sigma)
