"""Uniform and exponential draws whose extreme values are resolved in low precision.

``jax.random.uniform`` in float32 returns multiples of 2^-23, so ``jax.random.exponential``
(``−log1p(−u)``) never exceeds ``log 2^23 = 15.9`` and its largest values are ``log(2^23/k)``
for k = 1, 2, 3, ...: the far tail of anything built on it is cut off and lumped onto a few
values. A Pareto entry ``exp(E/µ)`` then cannot exceed ``2^{23/µ}`` (588 at µ = 2.5), which
already decides the largest entry of a 1000 × 1000 matrix. The draws here take two 32-bit words
per value, so a uniform value near 0 or near 1 is resolved to about 2^-64 and the exponential
reaches 44. Float64 draws are ``jax.random``'s own (resolution 2^-52), unchanged.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["exponential", "half_uniform"]


def _wide(dt: Any) -> bool:
    return jnp.dtype(dt).itemsize >= 8


def half_uniform(key: jax.Array, shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """float32 ``(lo, flip)``: ``lo`` uniform on (0, 1/2] resolved near 0, ``flip`` a fair boolean.

    ``u = where(flip, 1 − lo, lo)`` is uniform on (0, 1) and resolved near both ends; callers use
    ``lo`` directly (``log1p(−lo)``, ``sin(π·lo)``) so that nothing is lost forming ``1 − lo``.
    """
    kb, kf = jax.random.split(key)
    bits = jax.random.bits(kb, (2, *shape), jnp.uint32)
    f32 = jnp.float32
    frac = (bits[1].astype(f32) + f32(0.5)) * f32(2.0**-32)  # in (0, 1)
    lo = (bits[0].astype(f32) + frac) * f32(2.0**-33)  # in (0, 1/2]
    return lo, jax.random.bernoulli(kf, 0.5, shape)


def exponential(key: jax.Array, shape: tuple[int, ...], dt: Any) -> jax.Array:
    """Exp(1) draws, positive, resolved at both ends (large values up to 44 in float32)."""
    if _wide(dt):
        return jax.random.exponential(key, shape, dt)
    lo, flip = half_uniform(key, shape)
    e = jnp.where(flip, -jnp.log1p(-lo), -jnp.log(lo))
    return e.astype(dt)
