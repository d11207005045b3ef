"""Largest eigenvalues of the β-Laguerre and β-Hermite ensembles from their tridiagonal models.

Dumitriu & Edelman (2002) give bidiagonal / tridiagonal matrices whose eigenvalues have exactly
the joint law of the β-ensembles. Only the top ``O(M^{1/3})`` rows influence the largest
eigenvalue (Edelman & Persson 2005), so the model is truncated to its top ``k ≈ 10·M^{1/3}``
rows (a principal submatrix: by Cauchy interlacing the truncated λ_max never exceeds the full one).
The largest eigenvalue of each truncated matrix is found by bisection on Sturm counts,
vectorised over all samples, so that any number of samples is one XLA computation.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import ndtri

__all__ = [
    "default_truncation",
    "laguerre_tridiagonal",
    "hermite_tridiagonal",
    "tridiagonal_largest",
    "tridiagonal_largest_laguerre",
]


def default_truncation(M: int) -> int:
    """Rows kept of the tridiagonal model: ``min(M, ceil(10·M^{1/3}) + 10)``."""
    return int(min(M, math.ceil(10.0 * M ** (1.0 / 3.0)) + 10))


def _gamma_mt(key: jax.Array, alpha: jax.Array, shape: tuple[int, ...], dt) -> jax.Array:
    """Gamma(α) variables, exact, by Marsaglia & Tsang (2000) rejection, vectorised.

    One round draws a (normal, uniform) pair for every element (from one uniform draw, the
    normal by ``ndtri``); rounds repeat until every element has been accepted once, each keeping
    the first accepted value (rejection is under 5% for α >= 1 and under 0.1% for the large α of
    the Laguerre model, so a handful of rounds).
    For α < 1 the boost ``Gamma(α) = Gamma(α + 1)·U^{1/α}`` is used. Much faster than
    ``jax.random.gamma`` on a large batch, which runs one rejection loop per element.
    """
    alpha = jnp.broadcast_to(jnp.asarray(alpha, dt), shape).reshape(-1)
    n = alpha.shape[0]
    small = alpha < 1.0
    a1 = jnp.where(small, alpha + 1.0, alpha)
    d = a1 - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    kfirst, kloop = jax.random.split(key)
    tiny = jnp.finfo(dt).tiny

    def uniforms(k, rows, size):
        # one random draw per round (each draw site costs compile time); normals by ndtri
        return jax.random.uniform(k, (rows, size), dt, minval=tiny)

    def accept(x, u, dd, cc):
        v = 1.0 + cc * x
        v3 = v * v * v
        logv3 = jnp.log(jnp.where(v > 0, v3, 1.0))
        ok = (v > 0) & (jnp.log(u) < 0.5 * x * x + dd - dd * v3 + dd * logv3)
        return dd * v3, ok

    u0 = uniforms(kfirst, 3, n)
    out, done = accept(ndtri(u0[0]), u0[1], d, c)

    def cond(state):
        _, done, _ = state
        return ~jnp.all(done)

    def body(state):
        # redraw every element and keep the new value where the old one was rejected: a few
        # rounds at most (rejection under 5%), and cheaper to compile than compacting the rest
        out, done, i = state
        u = uniforms(jax.random.fold_in(kloop, i), 2, n)
        val, ok = accept(ndtri(u[0]), u[1], d, c)
        take = ok & ~done
        return jnp.where(take, val, out), done | ok, i + 1

    out, _, _ = lax.while_loop(cond, body, (out, done, jnp.asarray(0, jnp.int32)))
    boost = jnp.exp(jnp.log(u0[2]) / jnp.where(small, alpha, 1.0))
    return jnp.where(small, out * boost, out).reshape(shape)


def _chi2(key: jax.Array, df: jax.Array, shape: tuple[int, ...], dt) -> jax.Array:
    """χ² variables with (non-integer allowed) degrees of freedom ``df``, shaped ``shape``."""
    return 2.0 * _gamma_mt(key, 0.5 * jnp.broadcast_to(df, shape), shape, dt)


def laguerre_tridiagonal(
    key: jax.Array, num: int, N: int, M: int, k: int, beta: float, dt
) -> tuple[jax.Array, jax.Array]:
    """Top-left ``k×k`` block of ``B Bᵀ/β`` (Dumitriu–Edelman β-Laguerre), not yet divided by N.

    ``B`` is lower bidiagonal with ``B_ii = χ_{β(N−i)}`` and ``B_{i+1,i} = χ_{β(M−1−i)}``
    (``i = 0, 1, …``). For β = 1 (2) the eigenvalues of ``BBᵀ/β`` are those of ``WᵀW`` for an
    N×M real (complex) Gaussian W with ``E|w|² = 1``.

    Returns:
        ``(a, b2)``: diagonal, shape ``(k, num)``, and squared off-diagonal, shape ``(k, num)``
        with ``b2[i] = T[i, i−1]²`` (``b2[0] = 0``). Rows are the leading axis (the scan axis).
    """
    i = jnp.arange(k, dtype=dt)[:, None]
    bt = jnp.asarray(beta, dt)
    df_d = jnp.broadcast_to(bt * (jnp.asarray(N, dt) - i), (k, num))
    if k > 1:
        # both χ² families in one draw (one compiled sampler instead of two)
        df_e = jnp.broadcast_to(bt * (jnp.asarray(M - 1, dt) - i[: k - 1]), (k - 1, num))
        both = _chi2(key, jnp.concatenate([df_d, df_e]), (2 * k - 1, num), dt) / bt
        d2, e2 = both[:k], both[k:]
        e2_prev = jnp.concatenate([jnp.zeros((1, num), dt), e2], axis=0)  # e_{i-1}²
        b2 = jnp.concatenate([jnp.zeros((1, num), dt), e2 * d2[:-1]], axis=0)
    else:
        d2 = _chi2(key, df_d, (k, num), dt) / bt
        e2_prev = jnp.zeros((1, num), dt)
        b2 = jnp.zeros((1, num), dt)
    a = d2 + e2_prev
    return a, b2


def hermite_tridiagonal(
    key: jax.Array, num: int, N: int, k: int, beta: float, dt
) -> tuple[jax.Array, jax.Array]:
    """Top-left ``k×k`` block of the β-Hermite model scaled to the semicircle on ``[−2, 2]``.

    ``H = (1/√(Nβ))·tridiag(√2·g_i ; χ_{β(N−1−i)})`` with ``g_i ~ N(0, 1)``: for β = 1 (2) its
    eigenvalues are those of the GOE (GUE) ``(A + Aᴴ)/√(2N)`` with ``E|A_ij|² = 1``, i.e.
    ``htrmt.ensembles.wigner``.

    Returns:
        ``(a, b2)`` as in :func:`laguerre_tridiagonal`.
    """
    kd, ke = jax.random.split(key)
    bt = jnp.asarray(beta, dt)
    nb = jnp.asarray(N, dt) * bt
    a = jnp.sqrt(2.0 / nb) * jax.random.normal(kd, (k, num), dt)
    if k > 1:
        i = jnp.arange(k - 1, dtype=dt)[:, None]
        e2 = _chi2(ke, bt * (jnp.asarray(N - 1, dt) - i), (k - 1, num), dt) / nb
        b2 = jnp.concatenate([jnp.zeros((1, num), dt), e2], axis=0)
    else:
        b2 = jnp.zeros((1, num), dt)
    return a, b2


def _count_below(a: jax.Array, b2: jax.Array, x: jax.Array, pivmin: jax.Array) -> jax.Array:
    """Number of eigenvalues ``< x`` of each tridiagonal matrix (Sturm sequence, LDLᵀ pivots).

    ``a``, ``b2`` have shape ``(k, num)``; ``x`` and the result have shape ``(num,)``.
    """

    def step(carry, ab):
        q, cnt = carry
        ai, bi2 = ab
        q = (ai - x) - bi2 / q
        q = jnp.where(jnp.abs(q) < pivmin, -pivmin, q)
        return (q, cnt + (q < 0).astype(jnp.int32)), None

    q0 = jnp.ones_like(x)
    (_, cnt), _ = lax.scan(step, (q0, jnp.zeros(x.shape, jnp.int32)), (a, b2), unroll=4)
    return cnt


def tridiagonal_largest(a: jax.Array, b2: jax.Array) -> jax.Array:
    """Largest eigenvalue of each symmetric tridiagonal matrix, by bisection on Sturm counts.

    Args:
        a: diagonals, shape ``(k, num)``.
        b2: squared sub-diagonals, shape ``(k, num)``, ``b2[0]`` ignored (multiplied by 0).

    Returns:
        Shape ``(num,)``: λ_max to about the dtype's resolution (relative to the Gershgorin width).
    """
    k, _ = a.shape
    dt = a.dtype
    b2 = b2.at[0].set(0.0)
    b = jnp.sqrt(b2)
    b_next = jnp.concatenate([b[1:], jnp.zeros_like(b[:1])], axis=0)
    lo = jnp.max(a, axis=0)  # a Rayleigh quotient: λ_max >= max_i T_ii
    hi = jnp.max(a + b + b_next, axis=0)  # Gershgorin
    scale = jnp.maximum(jnp.max(jnp.abs(a), axis=0), jnp.max(b, axis=0))
    tiny = jnp.finfo(dt).tiny
    pivmin = jnp.maximum(tiny * jnp.max(b2, axis=0), tiny) * 4.0
    lo = lo - jnp.finfo(dt).eps * 4 * scale
    hi = hi + jnp.finfo(dt).eps * 4 * scale
    iters = int(jnp.finfo(dt).nmant) + 4

    def body(_, carry):
        lo, hi = carry
        mid = 0.5 * (lo + hi)
        all_below = _count_below(a, b2, mid, pivmin) >= k  # every eigenvalue < mid
        return jnp.where(all_below, lo, mid), jnp.where(all_below, mid, hi)

    lo, hi = lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (lo + hi)


def tridiagonal_largest_laguerre(a: jax.Array, b2: jax.Array, *, max_iter: int = 40) -> jax.Array:
    """Largest eigenvalue of each symmetric tridiagonal matrix by Laguerre's iteration from above.

    The characteristic polynomial ``D(x) = det(xI − T)`` has only real roots; started above all of
    them (at the Gershgorin bound), Laguerre's method decreases monotonically to the largest root
    and converges cubically (Wilkinson 1965, §7.7 "The Algebraic Eigenvalue Problem"; Parlett).
    ``G = D'/D`` and ``H = −(log D)''`` come from the pivot recurrence
    ``r_i = (x − a_i) − b_i²/r_{i−1}`` and its first two derivatives, which for ``x`` above every
    eigenvalue has positive pivots (no cancellation). Iterations stop when every sample moved by
    less than a few ulps (``lax.while_loop``), at most ``max_iter``. A final safeguard keeps the
    result at least ``max_i T_ii`` (a lower bound of λ_max).

    Args:
        a: diagonals, shape ``(k, num)``.
        b2: squared sub-diagonals, shape ``(k, num)``, ``b2[0]`` ignored.
        max_iter: cap on the iterations.

    Returns:
        Shape ``(num,)``.
    """
    k, _ = a.shape
    dt = a.dtype
    b2 = b2.at[0].set(0.0)
    b = jnp.sqrt(b2)
    b_next = jnp.concatenate([b[1:], jnp.zeros_like(b[:1])], axis=0)
    lower = jnp.max(a, axis=0)
    x0 = jnp.max(a + b + b_next, axis=0)  # Gershgorin upper bound
    scale = jnp.maximum(jnp.max(jnp.abs(a), axis=0), jnp.max(b, axis=0))
    x0 = x0 + 4 * jnp.finfo(dt).eps * scale + jnp.finfo(dt).tiny
    tiny = jnp.finfo(dt).tiny
    eps = jnp.finfo(dt).eps
    n = jnp.asarray(k, dt)

    def gh(x):
        def step(carry, ab):
            r, dr, ddr, g, h = carry
            ai, bi2 = ab
            inv = 1.0 / r
            rn = (x - ai) - bi2 * inv
            rn = jnp.where(jnp.abs(rn) < tiny, tiny, rn)
            drn = 1.0 + bi2 * dr * inv * inv
            ddrn = bi2 * (ddr * inv * inv - 2.0 * dr * dr * inv * inv * inv)
            q = drn / rn
            return (rn, drn, ddrn, g + q, h + q * q - ddrn / rn), None

        z = jnp.zeros_like(x)
        (_, _, _, g, h), _ = lax.scan(step, (jnp.ones_like(x), z, z, z, z), (a, b2), unroll=4)
        return g, h

    def cond(state):
        _, moved, i = state
        return (i < max_iter) & jnp.any(moved)

    def body(state):
        x, moved, i = state
        g, h = gh(x)
        disc = jnp.sqrt(jnp.maximum((n - 1.0) * (n * h - g * g), 0.0))
        step = n / (g + disc)
        step = jnp.where(jnp.isfinite(step) & moved, step, 0.0)
        xn = x - step
        still = jnp.abs(step) > 2.0 * eps * jnp.abs(xn)
        return xn, moved & still, i + 1

    x, _, _ = lax.while_loop(cond, body, (x0, jnp.ones(x0.shape, bool), jnp.asarray(0, jnp.int32)))
    return jnp.maximum(x, lower)
