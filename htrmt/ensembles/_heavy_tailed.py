"""Heavy-tailed element samplers: Pareto (symmetric and Lomax), Student-t, symmetric α-stable."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _random
from .._checks import check_choice, check_key, check_scalar, check_shape, float_dtype

__all__ = ["pareto", "student_t", "levy_stable"]


def pareto(
    key: jax.Array,
    shape: tuple[int, ...],
    *,
    mu: float,
    convention: str = "symmetric",
    dtype: Any = None,
) -> Float[Array, "... n m"]:
    """Pareto entries with tail index ``mu``: ``P(|w| > x) ~ x^(-mu)``.

    Conventions:
        - ``"symmetric"``: random sign times a classical Pareto variable,
          ``P(|w| > x) = x^(-mu)`` for ``x >= 1``. Centred; finite variance iff ``mu > 2``
          (variance ``mu/(mu-2)``).
        - ``"lomax"``: the law of ``numpy.random.pareto(mu)`` (Pareto II / Lomax),
          ``P(w > x) = (1 + x)^(-mu)`` for ``x >= 0``. Non-negative and not centred: this is what
          the original Heavy-Tailed Self-Regularization experiments sampled, so use it to reproduce
          their figures (the non-zero mean adds one large rank-one spike to the ESD).

    Sampled as ``exp(E/mu)`` with ``E ~ Exp(1)``, which resolves the far tail better than
    ``U^(-1/mu)`` with a uniform ``U``. For ``mu < 1`` in float32 the Gram matrix can
    overflow; use float64 there.

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``.
        mu: tail index, > 0.
        convention: ``"symmetric"`` or ``"lomax"``.
        dtype: float dtype.

    Returns:
        An array of ``shape``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.pareto(jax.random.key(0), (400, 200), mu=2.5)

    References:
        Martin & Mahoney (2021), JMLR 22(165), Sec. 5 (heavy-tailed universality classes).
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_scalar(mu, "mu", gt=0)
    check_choice(convention, "convention", ("symmetric", "lomax"))
    dt = float_dtype(dtype)
    return _pareto(key, jnp.asarray(mu, dt), shape, dt, convention)


# The samplers compile once per (shape, dtype) as a whole. Draws are made flat and reshaped: the
# same numbers as drawing ``shape`` directly (jax.random counts elements in row-major order),
# and 2-3x faster to compile than a multi-dimensional draw.


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _pareto(key, mu, shape, dt, convention):
    n = math.prod(shape)
    kmag, ksign = jax.random.split(key)
    e = _random.exponential(kmag, (n,), dt) / mu
    if convention == "lomax":
        return jnp.expm1(e).reshape(shape)
    sign = jnp.where(jax.random.bernoulli(ksign, 0.5, (n,)), 1.0, -1.0).astype(dt)
    return (sign * jnp.exp(e)).reshape(shape)


def student_t(
    key: jax.Array, shape: tuple[int, ...], *, df: float, dtype: Any = None
) -> Float[Array, "... n m"]:
    """Student-t entries with ``df`` degrees of freedom: tail index ``mu = df``.

    Drawn by Bailey's polar method (exact; no gamma variates).

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``.
        df: degrees of freedom, > 0 (finite variance ``df/(df-2)`` iff ``df > 2``).
        dtype: float dtype.

    Returns:
        An array of ``shape``.

    References:
        Bailey (1994), "Polar generation of random variates with the t-distribution",
        Math. Comp. 62, 779.
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_scalar(df, "df", gt=0)
    dt = float_dtype(dtype)
    return _student_t(key, jnp.asarray(df, dt), shape, dt)


def _polar_pairs(key, n, dt):
    # U uniform on (-1, 1) and W = U² + V² for n pairs; accepted when 0 < W <= 1 (π/4 of them)
    ku, kv = jax.random.split(key)
    one = jnp.ones((), dt)
    u = jax.random.uniform(ku, (n,), dt, minval=-one, maxval=one)
    v = jax.random.uniform(kv, (n,), dt, minval=-one, maxval=one)
    w = u * u + v * v
    return u, w, (w > 0) & (w <= 1)


def _num_candidates(n: int) -> int:
    # mean accepted 1.02n + 6.3√n + 25 against a standard deviation of 0.47√n
    return n + (3 * n + 9) // 10 + 8 * math.isqrt(n) + 32


@functools.partial(jax.jit, static_argnums=(2, 3))
def _student_t(key, df, shape, dt):
    # Bailey's polar method: T = U·sqrt(df·(W^(-2/df) − 1)/W) for a uniform point (U, V) of
    # the unit disc is exactly Student-t(df); no gamma variates (20× faster than
    # jax.random.t on CPU). ~1.3n candidate pairs hold n accepted ones except with probability
    # far below 1e-20; the loop fills any shortfall with fresh accepted pairs.
    n = math.prod(shape)
    k0, key = jax.random.split(key)
    u, w, acc = _polar_pairs(k0, _num_candidates(n), dt)
    pick = jnp.nonzero(acc, size=n, fill_value=0)[0]
    u, w = u[pick], w[pick]
    filled = jnp.arange(n) < jnp.sum(acc)

    def refill(carry):
        key, u, w, filled = carry
        key, sub = jax.random.split(key)
        u2, w2, acc2 = _polar_pairs(sub, n, dt)
        take = ~filled & acc2
        return key, jnp.where(take, u2, u), jnp.where(take, w2, w), filled | take

    _, u, w, _ = jax.lax.while_loop(lambda c: ~jnp.all(c[3]), refill, (key, u, w, filled))
    # sqrt(df·(W^(-2/df) − 1)/W) in logarithms: W^(-2/df) alone overflows float32 for
    # df < 1 while T itself is representable
    logw = jnp.log(w)
    a = -2 / df * logw
    t = u * jnp.sqrt(df) * jnp.exp(0.5 * (a + jnp.log(-jnp.expm1(-a)) - logw))
    return t.reshape(shape)


def levy_stable(
    key: jax.Array, shape: tuple[int, ...], *, alpha_stable: float, dtype: Any = None
) -> Float[Array, "... n m"]:
    """Symmetric α-stable entries (characteristic function ``exp(-|t|^alpha_stable)``).

    Sampled by the Chambers–Mallows–Stuck method. Tail index ``mu = alpha_stable`` for
    ``alpha_stable < 2``; ``alpha_stable = 2`` is Gaussian with variance 2.
    Same law as ``scipy.stats.levy_stable(alpha_stable, 0)``.

    Args:
        key: a ``jax.random`` key.
        shape: ``(..., N, M)``.
        alpha_stable: stability index in (0, 2].
        dtype: float dtype.

    References:
        Chambers, Mallows & Stuck (1976), JASA 71, 340.
    """
    key = check_key(key)
    shape = check_shape(shape)
    check_scalar(alpha_stable, "alpha_stable", gt=0, le=2)
    dt = float_dtype(dtype)
    return _stable(key, jnp.asarray(alpha_stable, dt), shape, dt, float(alpha_stable) == 1.0)


@functools.partial(jax.jit, static_argnums=(2, 3, 4))
def _stable(key, a, shape, dt, cauchy):
    n = math.prod(shape)
    kv, ke = jax.random.split(key)
    half_pi = jnp.asarray(jnp.pi / 2, dt)
    if jnp.dtype(dt).itemsize >= 8:
        v = jax.random.uniform(kv, (n,), dt, minval=-half_pi, maxval=half_pi)
        if cauchy:
            return jnp.tan(v).reshape(shape)
        e = jax.random.exponential(ke, (n,), dt)
        w = (
            jnp.sin(a * v)
            / jnp.cos(v) ** (1.0 / a)
            * (jnp.cos((1.0 - a) * v) / e) ** ((1.0 - a) / a)
        )
        return w.reshape(shape)
    # Low precision: V = ±(π/2 − φ) with φ = π·lo resolved near 0, where the tail comes from
    # (cos V = sin φ → 0), and every sine and cosine written with a small argument.
    f32 = jnp.float32
    lo, flip = _random.half_uniform(kv, (n,))
    sign = jnp.where(flip, f32(1.0), f32(-1.0))
    phi = f32(jnp.pi) * lo
    hp = f32(jnp.pi / 2)
    if cauchy:
        return (sign * jnp.cos(phi) / jnp.sin(phi)).astype(dt).reshape(shape)
    a = a.astype(f32)
    sin_av = jnp.sin(jnp.minimum(a * (hp - phi), (2.0 - a) * hp + a * phi))  # sin(a|V|)
    b = jnp.abs(1.0 - a)
    cos_bv = jnp.sin((1.0 - b) * hp + b * phi)  # cos((1 − a)V)
    e = _random.exponential(ke, (n,), f32)
    log_mag = -jnp.log(jnp.sin(phi)) / a + (1.0 - a) / a * (jnp.log(cos_bv) - jnp.log(e))
    return (sign * sin_av * jnp.exp(log_mag)).astype(dt).reshape(shape)
