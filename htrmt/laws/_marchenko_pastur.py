"""The Marchenko–Pastur law of the ESD of ``X = WᵀW/N`` (N×M, i.i.d. entries of variance σ²).

With ``Q = N/M >= 1`` and ``y = 1/Q``, the eigenvalues fill ``[λ−, λ+]``,
``λ± = σ²(1 ± √y)²``, with density

    ρ(λ) = Q / (2π σ² λ) · √((λ+ − λ)(λ − λ−)).

References:
    Marchenko & Pastur (1967), Math. USSR Sb. 1, 457; Martin & Mahoney (2021), JMLR 22(165),
    Eq. (5).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_scalar, float_dtype
from ._common import as_x, bisect_ppf, check_p, moments_from_raw, param, uniform_for_sample

__all__ = ["pdf", "logpdf", "cdf", "sf", "ppf", "edges", "moment", "moments", "sample"]


def _check(Q: Any, sigma: Any) -> None:
    check_scalar(Q, "Q", ge=1.0)
    check_scalar(sigma, "sigma", gt=0.0)


def _args(x: Any, Q: Any, sigma: Any):
    _check(Q, sigma)
    x = as_x(x)
    return x, param(Q, x.dtype), param(sigma, x.dtype)


def _prep(x, Q, sigma):
    y = 1.0 / Q
    s2 = sigma**2
    a = (1.0 - jnp.sqrt(y)) ** 2
    b = (1.0 + jnp.sqrt(y)) ** 2
    return x / s2, y, s2, a, b


def edges(Q: Any, sigma: Any = 1.0, *, dtype: Any = None) -> tuple[Array, Array]:
    """Bulk edges ``(λ−, λ+) = σ²(1 ∓ 1/√Q)²``.

    Example:
        >>> lo, hi = edges(4.0)
        >>> float(lo), float(hi)
        (0.25, 2.25)
    """
    _check(Q, sigma)
    dt = float_dtype(dtype)
    rq = jnp.sqrt(1.0 / param(Q, dt))
    s2 = param(sigma, dt) ** 2
    return s2 * (1.0 - rq) ** 2, s2 * (1.0 + rq) ** 2


def pdf(x: Any, Q: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """MP density ``ρ(λ) = Q/(2πσ²λ)·√((λ+ − λ)(λ − λ−))`` on ``[λ−, λ+]``, 0 elsewhere.

    Args:
        x: evaluation points λ.
        Q: aspect ratio ``N/M >= 1``.
        sigma: entry standard deviation.
    """
    return _pdf(*_args(x, Q, sigma))


@jax.jit
def _pdf(x, Q, sigma):
    t, y, s2, a, b = _prep(x, Q, sigma)
    inside = (t > a) & (t < b)
    ts = jnp.where(inside, t, 1.0)
    r = jnp.sqrt(jnp.maximum((b - ts) * (ts - a), 0.0))
    return jnp.where(inside, r / (2.0 * jnp.pi * y * ts * s2), 0.0)


def logpdf(x: Any, Q: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """Log of :func:`pdf` (``-inf`` outside the support)."""
    return _logpdf(*_args(x, Q, sigma))


@jax.jit
def _logpdf(x, Q, sigma):
    t, y, s2, a, b = _prep(x, Q, sigma)
    inside = (t > a) & (t < b)
    ts = jnp.where(inside, t, 1.0)
    val = 0.5 * jnp.log(jnp.where(inside, (b - ts) * (ts - a), 1.0)) - jnp.log(
        2.0 * jnp.pi * y * ts * s2
    )
    return jnp.where(inside, val, -jnp.inf)


def _cdf_t(t, y, a, b, xp=jnp):
    """Unit-σ CDF at ``t`` (``xp``: ``jnp``, or ``np`` for the host-side fitters)."""
    m = 1.0 + y
    h = 2.0 * xp.sqrt(y)
    sab = xp.abs(1.0 - y)  # √(λ−λ+) in units of σ²
    tc = xp.clip(t, a, b)
    r = xp.sqrt(xp.maximum((b - tc) * (tc - a), 0.0))
    t1 = m * xp.arcsin(xp.clip((tc - m) / h, -1.0, 1.0))
    tsafe = xp.where(tc > 0, tc, 1.0)
    arg2 = xp.clip((m * tsafe - sab**2) / (h * tsafe), -1.0, 1.0)
    t2 = xp.where(sab > 0, sab * xp.arcsin(arg2), 0.0)
    val = 0.5 + (r + t1 - t2) / (2.0 * xp.pi * y)
    val = xp.clip(val, 0.0, 1.0)
    return xp.where(t <= a, 0.0, xp.where(t >= b, 1.0, val))


def cdf(x: Any, Q: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """MP cumulative distribution function, in closed form.

    With ``t = λ/σ²``, ``m = 1 + y``, ``h = 2√y``, ``R = √((b − t)(t − a))``::

        F(t) = 1/2 + [R + m·asin((t − m)/h) − |1 − y|·asin((m t − (1−y)²)/(h t))] / (2π y)

    on ``[a, b] = [(1 − √y)², (1 + √y)²]`` (the antiderivative of the density, checked by
    differentiation and against numerical integration in the tests).
    """
    return _cdf(*_args(x, Q, sigma))


@jax.jit
def _cdf(x, Q, sigma):
    t, y, _, a, b = _prep(x, Q, sigma)
    return _cdf_t(t, y, a, b)


def sf(x: Any, Q: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """Survival function ``1 − F``."""
    return 1.0 - cdf(x, Q, sigma)


def ppf(p: Any, Q: Any, sigma: Any = 1.0) -> Float[Array, "..."]:
    """Quantile function (inverse CDF) by vectorised bisection on ``[λ−, λ+]`` to full precision."""
    _check(Q, sigma)
    p = check_p(p)
    return _ppf(p, param(Q, p.dtype), param(sigma, p.dtype))


@jax.jit
def _ppf(p, Q, sigma):
    y = 1.0 / Q
    s2 = sigma**2
    a = (1.0 - jnp.sqrt(y)) ** 2
    b = (1.0 + jnp.sqrt(y)) ** 2
    t = bisect_ppf(lambda tt: _cdf_t(tt, y, a, b), p, a, b)
    return s2 * t


def moment(k: int, Q: Any, sigma: Any = 1.0) -> float:
    """Raw moment ``E[λ^k] = σ^(2k) Σ_{r=0}^{k-1} y^r/(r+1)·C(k,r)·C(k−1,r)`` (Narayana)."""
    from math import comb

    if not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0, got k={k!r}")
    _check(Q, sigma)
    if k == 0:
        return 1.0
    y = 1.0 / float(Q)
    s = sum(y**r / (r + 1) * comb(k, r) * comb(k - 1, r) for r in range(k))
    return float(sigma) ** (2 * k) * s


def moments(Q: Any, sigma: Any = 1.0) -> tuple[float, float, float, float]:
    """(mean, variance, skewness, excess kurtosis) = ``(σ², σ⁴/Q, Q^(-1/2), 1/Q − 1)``."""
    return moments_from_raw(*(moment(k, Q, sigma) for k in (1, 2, 3, 4)))


def sample(key: Any, shape: Any, Q: Any, sigma: Any = 1.0, *, dtype: Any = None) -> Array:
    """I.i.d. draws from the MP law by inverse-CDF sampling (not eigenvalues of a matrix)."""
    _check(Q, sigma)
    u = uniform_for_sample(key, shape, dtype)
    return ppf(u, Q, sigma)
