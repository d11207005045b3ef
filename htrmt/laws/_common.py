"""Helpers shared by the laws."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_float_array, check_key, check_scalar, float_dtype

__all__ = [
    "as_x",
    "bisect_ppf",
    "check_beta",
    "check_p",
    "moments_from_raw",
    "param",
    "resolve_beta",
    "uniform_for_sample",
]


def as_x(x: Any, name: str = "x") -> jax.Array:
    """Evaluation points as a float array (ints promoted to the default float dtype)."""
    return as_float_array(x, name, allow_int=True)


def param(value: Any, dtype: Any) -> jax.Array:
    """A law parameter cast to the evaluation dtype (keeps strict promotion happy)."""
    return jnp.asarray(value, dtype)


def check_p(p: Any) -> jax.Array:
    """Probabilities for a ppf: finite, within [0, 1] when concrete."""
    p = as_x(p, "p")
    check_scalar(p, "p", ge=0.0, le=1.0)
    return p


def bisect_ppf(cdf, p: jax.Array, lo: Any, hi: Any) -> jax.Array:
    """Invert a monotone CDF on ``[lo, hi]`` by vectorised bisection (full dtype precision)."""
    dt = p.dtype
    iters = 64 if dt == jnp.float64 else 32
    lo = jnp.broadcast_to(jnp.asarray(lo, dt), p.shape)
    hi = jnp.broadcast_to(jnp.asarray(hi, dt), p.shape)

    def body(_, carry):
        a, b = carry
        mid = 0.5 * (a + b)
        below = cdf(mid) < p
        return jnp.where(below, mid, a), jnp.where(below, b, mid)

    a, b = jax.lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (a + b)


def moments_from_raw(m1, m2, m3, m4):
    """(mean, variance, skewness, excess kurtosis) from raw moments."""
    var = m2 - m1**2
    mu3 = m3 - 3 * m1 * m2 + 2 * m1**3
    mu4 = m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4
    return m1, var, mu3 / var**1.5, mu4 / var**2 - 3


def uniform_for_sample(key: Any, shape: Any, dtype: Any) -> jax.Array:
    """Uniform(0, 1) draws for inverse-CDF sampling."""
    key = check_key(key)
    if isinstance(shape, int | np.integer):
        shape = (int(shape),)
    dt = float_dtype(dtype)
    return jax.random.uniform(key, tuple(shape), dt)


_POSITIONAL_BETA = object()  # sentinel: no deprecated positional beta given


def check_beta(beta: Any, *, allowed: tuple[int, ...] | None = None) -> float:
    """The Dyson index ``β``, checked the same way by every law and edge sampler.

    Args:
        beta: the Dyson index.
        allowed: the only admissible values (e.g. ``(1, 2, 4)`` for Tracy–Widom), or ``None`` for
            any ``β > 0``.

    Returns:
        ``float(beta)``.

    Raises:
        TypeError: ``beta`` is not a finite real number (bools, strings and ``None`` included).
        ValueError: ``beta <= 0``, or not in ``allowed``.
    """
    if (
        isinstance(beta, bool)
        or not isinstance(beta, int | float | np.integer | np.floating)
        or not np.isfinite(beta)
    ):
        raise TypeError(f"beta must be a finite real number, got beta={beta!r}")
    if allowed is not None and float(beta) not in tuple(float(a) for a in allowed):
        raise ValueError(f"beta must be one of {', '.join(map(str, allowed))}, got beta={beta!r}")
    if float(beta) <= 0:
        raise ValueError(f"beta must be > 0, got beta={beta!r}")
    return float(beta)


def resolve_beta(positional: Any, beta: Any, fname: str) -> Any:
    """``beta`` from the keyword, or from the deprecated positional form (with a warning)."""
    if positional is _POSITIONAL_BETA:
        return beta
    warnings.warn(
        f"passing beta positionally to {fname} is deprecated and will stop working in the next "
        f"release; write {fname}(..., beta={positional!r})",
        DeprecationWarning,
        stacklevel=3,
    )
    return positional
