"""Empirical spectral densities: eigenvalues of the correlation matrix ``X = WᵀW/N``."""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import as_float_array, as_float_numpy, check_choice, is_concrete

HIGHEST = jax.lax.Precision.HIGHEST  # no TF32/bf16 rounding of float32 products

__all__ = ["esd", "singular_values", "gram", "oriented"]

NORMALIZATIONS = ("N", "none")


def oriented(W: Array) -> Array:
    """``W`` with its last two axes ordered so that ``N >= M`` (a wide matrix is transposed)."""
    n, m = W.shape[-2:]
    return jnp.swapaxes(W, -1, -2) if n < m else W


def _gram(W: Array, normalization: str) -> Array:
    W = oriented(W)
    n = W.shape[-2]
    # full float32 products on GPU/TPU (their default rounds the inputs to TF32/bf16)
    X = jnp.matmul(jnp.swapaxes(W, -1, -2), W, precision=HIGHEST)
    if normalization == "N":
        X = X / jnp.asarray(n, W.dtype)
    return X


METHODS = ("auto", "lapack", "xla")


def _esd_host(W: np.ndarray, normalization: str) -> np.ndarray:
    """Gram matrix and eigenvalues-only LAPACK ``syevd`` on the host (numpy)."""
    W = np.asarray(W)
    if W.shape[-2] < W.shape[-1]:
        W = np.swapaxes(W, -1, -2)
    n, m = W.shape[-2:]
    if W.ndim == 2:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is reported below
            X = W.T @ W  # BLAS syrk: numpy detects the AᵀA pattern
    else:
        # Per-matrix AᵀA keeps syrk (half the flops of the batched gemm of np.matmul).
        flat = W.reshape(-1, n, m)
        X = np.empty((flat.shape[0], m, m), dtype=W.dtype)
        for i in range(flat.shape[0]):
            X[i] = flat[i].T @ flat[i]
        X = X.reshape(*W.shape[:-2], m, m)
    if normalization == "N":
        X /= n
    if not np.all(np.isfinite(X)):  # NaN/Inf entries or overflow: reported by the caller
        return np.full((*X.shape[:-1],), np.nan, dtype=W.dtype)
    return np.linalg.eigvalsh(X).astype(W.dtype, copy=False)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _esd_lapack(W: Array, normalization: str) -> Array:
    m = min(W.shape[-2:])
    out = jax.ShapeDtypeStruct((*W.shape[:-2], m), W.dtype)
    return jax.pure_callback(
        functools.partial(_esd_host, normalization=normalization),
        out,
        W,
        vmap_method="expand_dims",
    )


@_esd_lapack.defjvp
def _esd_lapack_jvp(normalization: str, primals: tuple, tangents: tuple) -> tuple:
    """``dλ_i = v_iᵀ dX v_i`` (first-order perturbation of a simple eigenvalue), with
    ``dX = (dWᵀW + WᵀdW)/N``; the eigenvectors come from XLA's ``eigh`` (only when
    differentiating: the primal stays on the eigenvalues-only LAPACK path)."""
    (W,), (dW,) = primals, tangents
    lam = _esd_lapack(W, normalization)
    Wo, dWo = oriented(W), oriented(dW)
    _, V = jnp.linalg.eigh(_gram(W, normalization))
    WdW = jnp.matmul(jnp.swapaxes(Wo, -1, -2), dWo, precision=HIGHEST)
    if normalization == "N":
        WdW = WdW / jnp.asarray(Wo.shape[-2], W.dtype)
    dlam = 2.0 * jnp.einsum("...ji,...jk,...ki->...i", V, WdW, V, precision=HIGHEST)
    return lam, dlam


@functools.partial(jax.jit, static_argnames=("normalization", "method"))
def _esd_jit(W: Array, normalization: str, method: str) -> Array:
    if method == "xla":
        return jnp.linalg.eigvalsh(_gram(W, normalization))
    return _esd_lapack(W, normalization)


def _resolve_method(method: str) -> str:
    check_choice(method, "method", METHODS)
    if method == "auto":
        return "lapack" if jax.default_backend() == "cpu" else "xla"
    return method


def _validate(W: Any, name: str = "W", *, host: bool = False) -> Array:
    # host=True keeps a NumPy float array on the host (no copy to a device and back)
    W = as_float_numpy(W, name) if host and isinstance(W, np.ndarray) else as_float_array(W, name)
    if W.ndim < 2:
        raise ValueError(f"{name} must have shape (..., N, M) with rank >= 2, got shape {W.shape}")
    if W.size == 0:
        raise ValueError(f"{name} is empty (shape {W.shape})")
    if min(W.shape[-2:]) < 2:
        raise ValueError(f"{name} must have at least 2 rows and 2 columns, got shape {W.shape}")
    return W


def _raise_nonfinite(W: Array, name: str) -> None:
    arr = np.asarray(W)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains NaN or Inf ({int(bad.sum())} of {arr.size} entries; first at "
            f"index {idx}: {arr[idx]!r})"
        )
    raise ValueError(
        f"the eigenvalues of {name}ᵀ{name} overflowed {arr.dtype} (largest |entry| "
        f"{np.max(np.abs(arr)):.3g}); use float64 (jax_enable_x64) or rescale {name}"
    )


def gram(W: Any, *, normalization: str = "N") -> Float[Array, "... m m"]:
    """The correlation matrix ``X = WᵀW/N`` (``normalization="none"``: ``WᵀW``), N >= M.

    Args:
        W: array of shape ``(..., N, M)``; a wide matrix is transposed first.
        normalization: ``"N"`` or ``"none"``.
    """
    check_choice(normalization, "normalization", NORMALIZATIONS)
    return _gram(_validate(W), normalization)


def esd(W: Any, *, normalization: str = "N", method: str = "auto") -> Float[Array, "... m"]:
    """Eigenvalues of ``X = WᵀW/N`` in ascending order: the empirical spectral density.

    Computed with ``eigvalsh`` of the smaller (M×M) Gram matrix, never an SVD with vectors.
    Leading axes are a batch (one batched LAPACK call). A wide matrix (N < M) is transposed first,
    so ``X`` is always ``min × min`` and ``N = max(rows, cols)``.

    Args:
        W: real array of shape ``(..., N, M)``.
        normalization: ``"N"`` (default): eigenvalues of ``WᵀW/N``, the convention of random
            matrix theory (MP edges ``σ²(1 ± 1/√Q)²``). ``"none"``: eigenvalues of ``WᵀW``, the
            convention of the weightwatcher tool (norms and λ_max differ by the factor N;
            power-law exponents do not).
        method: ``"auto"`` (default): ``"lapack"`` for concrete arrays on the CPU backend,
            ``"xla"`` for traced ones (under ``jit``, ``vmap``, ``grad``) and on other backends.
            ``"lapack"``: the eigenvalues-only LAPACK driver (``syevd`` with ``jobz='N'``, the
            one ``numpy.linalg.eigvalsh`` uses), called directly on concrete arrays; about 2.5×
            faster on CPU than ``"xla"``, whose ``eigvalsh`` also computes the eigenvectors.
            Asked for explicitly it also works under ``jit``, ``vmap`` and ``grad``, through a
            host callback (a ``custom_jvp``: the derivative ``dλ_i = v_iᵀ dX v_i`` uses XLA's
            ``eigh`` for the eigenvectors, computed only when differentiating), but that
            callback can deadlock XLA's CPU thread pool when it has a single thread (a one-core
            machine or container) or several callbacks run at once, with inputs of tens of MB
            (jaxlib 0.10); ``"auto"`` therefore avoids it. ``"xla"``: ``jnp.linalg.eigvalsh``.
            Derivatives assume simple eigenvalues (as any eigenvalue derivative).

    Returns:
        Array of shape ``(..., M)``, ascending, dtype of ``W``.

    Raises:
        TypeError: complex, integer or boolean ``W``.
        ValueError: rank < 2, empty, fewer than 2 rows/columns, NaN/Inf entries, overflow.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.gaussian(jax.random.key(0), (400, 200)))
        >>> lam.shape
        (200,)

    References:
        Martin & Mahoney (2021), JMLR 22(165), Sec. 3.1.
    """
    check_choice(normalization, "normalization", NORMALIZATIONS)
    auto = method == "auto"
    method = _resolve_method(method)
    W = _validate(W, host=method == "lapack")
    if method == "lapack" and is_concrete(W):
        lam = jnp.asarray(_esd_host(np.asarray(W), normalization))
    else:
        if auto:
            # Traced input (jit, vmap, grad): XLA's own solver. The host callback copies its
            # argument through XLA's CPU thread pool from inside a pool thread, which deadlocks
            # when no other pool thread is free (one core, or concurrent callbacks).
            method = "xla"
        lam = _esd_jit(W, normalization, method)
    if is_concrete(lam):
        if not bool(jnp.all(jnp.isfinite(lam))):
            _raise_nonfinite(W, "W")
        return lam
    return eqx.error_if(lam, ~jnp.all(jnp.isfinite(lam)), "W contains NaN or Inf")


def singular_values(
    W: Any, *, normalization: str = "N", method: str = "auto"
) -> Float[Array, "... m"]:
    """Singular values ``ν_i/√N`` of W (``"none"``: ``ν_i``), ascending, so that ``ν² = esd``.

    Args:
        W: real array of shape ``(..., N, M)``.
        normalization: ``"N"`` or ``"none"``, as in :func:`esd`.
        method: as in :func:`esd`.
    """
    lam = esd(W, normalization=normalization, method=method)
    return jnp.sqrt(jnp.maximum(lam, 0))
