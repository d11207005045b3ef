"""Rand distance: how far W's ESD is from that of W with its entries randomly permuted."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_key, check_matrix
from ..spectra._esd import NORMALIZATIONS, esd

__all__ = ["rand_distance", "permute_entries"]

DISTANCES = ("jsd", "ks")


def permute_entries(key: jax.Array, W: Float[Array, "... n m"]) -> Float[Array, "... n m"]:
    """``W`` with its entries shuffled by one uniform random permutation (per matrix of a batch).

    The permutation keeps the entries' values (hence their distribution and ``‖W‖_F``) and
    destroys every correlation between them: the result is a random-like matrix with the same
    element distribution.
    """
    key = check_key(key)
    W = check_matrix(W)
    n, m = W.shape[-2:]
    flat = W.reshape(-1, n * m)
    keys = jax.random.split(key, flat.shape[0])
    out = jax.vmap(lambda k, w: jax.random.permutation(k, w))(keys, flat)
    return out.reshape(W.shape)


@functools.partial(jax.jit, static_argnames=("bins", "distance", "normalization"))
def _rand_distance(key, W, bins: int, distance: str, normalization: str):
    Wr = permute_entries(key, W)
    lam = esd(W, normalization=normalization)
    lamr = esd(Wr, normalization=normalization)
    dt = lam.dtype
    m = lam.shape[-1]
    if distance == "ks":
        both = jnp.concatenate([lam, lamr], axis=-1)
        f1 = jax.vmap(lambda a, b: jnp.searchsorted(a, b, side="right"))(
            lam.reshape(-1, m), both.reshape(-1, 2 * m)
        )
        f2 = jax.vmap(lambda a, b: jnp.searchsorted(a, b, side="right"))(
            lamr.reshape(-1, m), both.reshape(-1, 2 * m)
        )
        d = jnp.max(jnp.abs(f1 - f2), axis=-1).astype(dt) / jnp.asarray(m, dt)
        return d.reshape(lam.shape[:-1])
    top = jnp.maximum(jnp.max(lam, axis=-1), jnp.max(lamr, axis=-1))[..., None]
    tol = jnp.asarray(m * jnp.finfo(dt).eps, dt) * top
    big = jnp.asarray(jnp.inf, dt)
    lo = jnp.minimum(
        jnp.min(jnp.where(lam > tol, lam, big), axis=-1),
        jnp.min(jnp.where(lamr > tol, lamr, big), axis=-1),
    )[..., None]
    llo, lhi = jnp.log(lo), jnp.log(top)
    width = jnp.maximum(lhi - llo, jnp.asarray(1e-12, dt))

    def hist(lmb):
        z = (jnp.log(jnp.maximum(lmb, lo)) - llo) / width * bins
        idx = jnp.clip(jnp.floor(z).astype(jnp.int32), 0, bins - 1)
        oh = jax.nn.one_hot(idx, bins, dtype=dt)
        return jnp.sum(oh, axis=-2) / jnp.asarray(m, dt)

    p, q = hist(lam), hist(lamr)
    mid = 0.5 * (p + q)

    def kl(a):
        return jnp.sum(
            jnp.where(
                a > 0, a * jnp.log2(jnp.where(a > 0, a, 1.0) / jnp.where(a > 0, mid, 1.0)), 0.0
            ),
            axis=-1,
        )

    jsd = 0.5 * kl(p) + 0.5 * kl(q)
    return jnp.sqrt(jnp.maximum(jsd, 0.0))


def rand_distance(
    key: jax.Array,
    W: Float[Array, "... n m"],
    *,
    bins: int = 100,
    distance: str = "jsd",
    normalization: str = "N",
) -> Float[Array, "..."]:
    """Distance between the ESD of ``W`` and the ESD of ``W`` with its entries randomly permuted.

    The permutation (uniform, drawn from ``key``) keeps the element distribution and removes all
    structure, so a random-like layer scores near 0 and a layer with learned correlations
    (spikes, decaying bulk, rank collapse) scores higher.

    - ``distance="jsd"`` (default): the Jensen–Shannon distance
      ``√JSD(p, q)``, ``JSD = ½ KL(p‖m) + ½ KL(q‖m)``, ``m = (p + q)/2``, in bits (so in [0, 1]),
      between the histograms ``p`` and ``q`` of the two ESDs over ``bins`` common bins equally
      spaced in ``log λ`` from the smallest eigenvalue above ``M·eps·λ_max`` to the largest of both
      (smaller eigenvalues go into the first bin).
    - ``distance="ks"``: the two-sample Kolmogorov–Smirnov distance ``sup_x |F(x) − F_rand(x)|``
      between the two ESDs (no binning).

    Args:
        key: a ``jax.random`` key for the permutation.
        W: real array ``(..., N, M)``.
        bins: histogram bins for ``"jsd"`` (>= 2).
        distance: ``"jsd"`` or ``"ks"``.
        normalization: ``"N"`` or ``"none"`` (as in ``htrmt.esd``; the distance does not
            depend on it).

    Returns:
        The distance, shape ``W.shape[:-2]``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.gaussian(jax.random.key(0), (400, 200))
        >>> d = ht.metrics.rand_distance(jax.random.key(1), W)

    References:
        Martin & Mahoney, weightwatcher ``rand_distance``; Lin (1991), IEEE Trans. Inf. Theory
        37, 145 (Jensen–Shannon divergence).
    """
    key = check_key(key)
    W = check_matrix(W)
    check_int(bins, "bins", ge=2)
    check_choice(distance, "distance", DISTANCES)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    return _rand_distance(key, W, bins, distance, normalization)
