"""Top eigenvectors of the correlation matrix ``X = WᵀW/N`` and the matching left vectors.

:func:`htrmt.esd` returns eigenvalues only (the eigenvalues-only LAPACK driver); a caller that
needs eigenvectors, e.g. to compare an outlier's eigenvector with a planted direction
(``htrmt.laws.bbp.overlap``), asks for them here.
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, is_concrete
from ._esd import NORMALIZATIONS, _gram, _raise_nonfinite, _validate, oriented

HIGHEST = jax.lax.Precision.HIGHEST

__all__ = ["Eigenpairs", "top_eigenvectors"]


class Eigenpairs(eqx.Module):
    """The ``k`` largest eigenvalues of ``X = WᵀW/N`` with their eigenvectors.

    Shapes are for ``W`` of shape ``(..., N, M)`` after orientation (``N >= M``; a wide matrix
    is transposed first, as in :func:`htrmt.esd`).

    Attributes:
        eigenvalues: ``(..., k)``, largest first.
        right: ``(..., M, k)``, unit eigenvectors of ``X`` (column ``j`` for ``eigenvalues[j]``),
            each signed so that its entry of largest magnitude is positive.
        left: ``(..., N, k)``, the unit left singular vectors ``W v_j/‖W v_j‖`` (zero where
            ``W v_j = 0``), so that ``W v_j = √(N λ_j)·u_j`` with the default normalization.
    """

    eigenvalues: Float[Array, "... k"]
    right: Float[Array, "... m k"]
    left: Float[Array, "... n k"]


@functools.partial(jax.jit, static_argnames=("k",))
def _top(W: Array, k: int) -> tuple[Array, Array, Array]:
    W = oriented(W)
    lam, vec = jnp.linalg.eigh(_gram(W, "N"))
    lam = jnp.flip(lam[..., -k:], axis=-1)
    vec = jnp.flip(vec[..., -k:], axis=-1)
    # Deterministic signs: the entry of largest magnitude of each right vector is positive.
    idx = jnp.argmax(jnp.abs(vec), axis=-2, keepdims=True)
    sign = jnp.sign(jnp.take_along_axis(vec, idx, axis=-2))
    vec = vec * jnp.where(sign == 0, jnp.ones_like(sign), sign)
    y = jnp.matmul(W, vec, precision=HIGHEST)
    norm = jnp.linalg.norm(y, axis=-2, keepdims=True)
    left = jnp.where(norm > 0, y / jnp.where(norm > 0, norm, jnp.ones_like(norm)), 0.0)
    return lam, vec, left.astype(W.dtype)


def top_eigenvectors(W: Any, k: int = 1, *, normalization: str = "N") -> Eigenpairs:
    """The ``k`` largest eigenvalues of ``X = WᵀW/N`` and their right and left vectors.

    A dense symmetric eigensolver (``jnp.linalg.eigh``) on the ``M×M`` Gram matrix, then the left
    vectors from ``W v``; works under ``jit`` and ``vmap`` and with leading batch axes. The
    eigenvalues agree with the top of :func:`htrmt.esd` (reversed).

    Args:
        W: real array of shape ``(..., N, M)``; a wide matrix is transposed first.
        k: how many of the largest eigenpairs, ``1 <= k <= M`` (static).
        normalization: ``"N"`` (default, ``WᵀW/N``) or ``"none"`` (``WᵀW``); the vectors do not
            depend on it.

    Returns:
        An :class:`Eigenpairs` with ``eigenvalues`` ``(..., k)`` (largest first), ``right``
        ``(..., M, k)`` and ``left`` ``(..., N, k)``.

    Raises:
        TypeError: complex, integer or boolean ``W``; ``k`` not an int.
        ValueError: rank < 2, empty, fewer than 2 rows/columns, NaN/Inf entries, ``k`` outside
            ``[1, M]``, an unknown ``normalization``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.low_rank_signal(jax.random.key(0), (60, 30), strengths=(3.0,))
        >>> top = ht.spectra.top_eigenvectors(W, 2)
        >>> top.eigenvalues.shape, top.right.shape, top.left.shape
        ((2,), (30, 2), (60, 2))
    """
    check_choice(normalization, "normalization", NORMALIZATIONS)
    W = _validate(W)
    m = min(W.shape[-2:])
    k = check_int(k, "k", ge=1)
    if k > m:
        raise ValueError(f"k must be <= M = min(W.shape[-2:]) = {m}, got k={k}")
    if is_concrete(W):
        if not np.all(np.isfinite(np.asarray(W))):
            _raise_nonfinite(W, "W")
    else:
        W = eqx.error_if(W, ~jnp.all(jnp.isfinite(W)), "W contains NaN or Inf")
    lam, right, left = _top(W, k)
    if normalization == "none":  # the vectors do not depend on the normalization
        lam = lam * jnp.asarray(max(W.shape[-2:]), lam.dtype)
    return Eigenpairs(eigenvalues=lam, right=right, left=left)
