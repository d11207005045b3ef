"""Fréchet law ``F(x) = exp(−((x − loc)/scale)^{−alpha})`` for ``x > loc``: the heavy-tailed edge.

Module of functions with the verbs of the laws in :mod:`htrmt.laws` (``pdf``, ``logpdf``, ``cdf``,
``logcdf``, ``sf``, ``ppf``, ``moments``, ``sample``); the parameters are keywords: ``alpha`` (the
tail index, ``µ/2`` for λ_max of a matrix with tail index µ), ``scale`` (default 1) and ``loc``
(default 0). :func:`htrmt.edge.frechet_law` gives the parameters for λ_max. This is
``scipy.stats.invweibull(alpha, loc, scale)``.

Example:
    >>> import htrmt as ht
    >>> round(float(ht.edge.frechet.cdf(2.0, alpha=1.5, scale=2.0)), 6)  # exp(-1)
    0.367879

References:
    Auffinger, Ben Arous & Péché (2009), Ann. IHP Probab. Stat. 45, 589.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _random
from .._checks import check_key, check_scalar, float_dtype
from ..laws._common import as_x, check_p, moments_from_raw, param

__all__ = ["cdf", "logcdf", "logpdf", "moments", "pdf", "ppf", "sample", "sf"]


def _check(alpha: Any, scale: Any, loc: Any) -> None:
    check_scalar(alpha, "alpha", gt=0)
    check_scalar(scale, "scale", gt=0)
    check_scalar(loc, "loc")


def _z(x: Any, scale: Any, loc: Any):
    x = as_x(x)
    return x, (x - param(loc, x.dtype)) / param(scale, x.dtype)


def logcdf(x: Any, *, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> Float[Array, "..."]:
    """``log F(x) = −z^{−alpha}``, ``z = (x − loc)/scale`` (``−inf`` for ``x <= loc``)."""
    _check(alpha, scale, loc)
    x, z = _z(x, scale, loc)
    pos = z > 0
    zs = jnp.where(pos, z, 1.0)
    return jnp.where(pos, -(zs ** (-param(alpha, x.dtype))), -jnp.inf)


def cdf(x: Any, *, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> Float[Array, "..."]:
    """``F(x) = exp(−z^{−alpha})``; 0 for ``x <= loc``."""
    return jnp.exp(logcdf(x, alpha=alpha, scale=scale, loc=loc))


def sf(x: Any, *, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> Float[Array, "..."]:
    """``1 − F(x) = −expm1(−z^{−alpha})`` (accurate in the right tail)."""
    return -jnp.expm1(logcdf(x, alpha=alpha, scale=scale, loc=loc))


def logpdf(x: Any, *, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> Float[Array, "..."]:
    """``log(alpha/scale) − (1 + alpha) log z − z^{−alpha}`` (``−inf`` for ``x <= loc``)."""
    _check(alpha, scale, loc)
    x, z = _z(x, scale, loc)
    a = param(alpha, x.dtype)
    pos = z > 0
    zs = jnp.where(pos, z, 1.0)
    val = jnp.log(a / param(scale, x.dtype)) - (1 + a) * jnp.log(zs) - zs ** (-a)
    return jnp.where(pos, val, -jnp.inf)


def pdf(x: Any, *, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> Float[Array, "..."]:
    """``alpha/scale · z^{−1−alpha} · exp(−z^{−alpha})``."""
    return jnp.exp(logpdf(x, alpha=alpha, scale=scale, loc=loc))


def ppf(p: Any, *, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> Float[Array, "..."]:
    """``loc + scale·(−log p)^{−1/alpha}`` (``loc`` at p = 0, ``inf`` at p = 1)."""
    _check(alpha, scale, loc)
    p = check_p(p)
    a = param(alpha, p.dtype)
    return param(loc, p.dtype) + param(scale, p.dtype) * (-jnp.log(p)) ** (-1 / a)


def moments(*, alpha: Any, scale: Any = 1.0, loc: Any = 0.0) -> tuple[float, float, float, float]:
    """(mean, variance, skewness, excess kurtosis) from ``E z^k = Γ(1 − k/alpha)`` (``alpha > k``).

    A moment that does not exist (``alpha <= k``) is ``inf``, as in ``scipy.stats``.
    """
    _check(alpha, scale, loc)
    a, s, c = float(alpha), float(scale), float(loc)
    g = [math.gamma(1 - k / a) if a > k else math.inf for k in (1, 2, 3, 4)]
    if a <= 1:
        return math.inf, math.inf, math.inf, math.inf
    if a <= 2:
        return c + s * g[0], math.inf, math.inf, math.inf
    m, v, sk, ku = moments_from_raw(g[0], g[1], g[2] if a > 3 else 0.0, g[3] if a > 4 else 0.0)
    return (
        c + s * m,
        s**2 * v,
        sk if a > 3 else math.inf,
        ku if a > 4 else math.inf,
    )


def sample(
    key: jax.Array,
    shape: Any = (),
    *,
    alpha: Any,
    scale: Any = 1.0,
    loc: Any = 0.0,
    dtype: Any = None,
) -> Array:
    """Inverse-CDF samples: ``loc + scale·E^{−1/alpha}`` with ``E ~ Exp(1)``."""
    _check(alpha, scale, loc)
    key = check_key(key)
    dt = float_dtype(dtype)
    if isinstance(shape, int):
        shape = (shape,)
    e = _random.exponential(key, tuple(shape), dt)
    return param(loc, dt) + param(scale, dt) * e ** (-1 / param(alpha, dt))
