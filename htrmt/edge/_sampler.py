"""Samplers of the largest eigenvalue: Wishart/Laguerre (``WᵀW/N``) and Wigner/Hermite."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_key, check_scalar, float_dtype
from ..laws._common import check_beta
from . import _tridiagonal as _td

HIGHEST = jax.lax.Precision.HIGHEST  # no TF32/bf16 rounding of float32 products

__all__ = ["largest_eigenvalues", "wigner_largest_eigenvalues"]

METHODS = ("tridiagonal", "dense")
SOLVERS = ("laguerre", "bisection")
_DENSE_BUDGET_BYTES = 1 << 28  # 256 MiB of matrices per batch of the dense sampler


def _check_beta(beta: Any, method: str) -> float:
    if method == "dense" and not isinstance(beta, bool) and beta not in (1, 2):
        check_beta(beta)  # a non-number or beta <= 0: the shared message first
        raise ValueError(
            f"beta must be 1 (real) or 2 (complex) for method='dense', got beta={beta!r}; "
            "use method='tridiagonal' for any beta > 0"
        )
    return check_beta(beta)


def _check_sizes(num: Any, N: Any, M: Any | None) -> None:
    check_int(num, "num", ge=1)
    check_int(N, "N", ge=1)
    if M is not None:
        check_int(M, "M", ge=1)
        if N < M:
            raise ValueError(
                f"N must be >= M (W is N×M with N >= M; transpose a wide matrix), got N={N}, M={M}"
            )


def _truncation(truncation: Any, M: int) -> int:
    if truncation is None:
        return _td.default_truncation(M)
    k = check_int(truncation, "truncation", ge=1)
    return min(k, M)


def _batch(num: int, per_sample_bytes: int, batch_size: Any) -> int:
    if batch_size is None:
        return int(max(1, min(num, _DENSE_BUDGET_BYTES // max(per_sample_bytes, 1))))
    return min(check_int(batch_size, "batch_size", ge=1), num)


def _complex_dtype(dt):
    return jnp.complex128 if dt == jnp.float64 else jnp.complex64


def _wishart_matrix(k, N: int, M: int, beta: float, dt):
    if beta == 1:
        W = jax.random.normal(k, (N, M), dt)
        return jnp.matmul(W.T, W, precision=HIGHEST) / jnp.asarray(N, dt)
    kr, ki = jax.random.split(k)
    half = jnp.sqrt(jnp.asarray(0.5, dt))
    W = lax.complex(
        half * jax.random.normal(kr, (N, M), dt), half * jax.random.normal(ki, (N, M), dt)
    )
    return jnp.matmul(jnp.conj(W).T, W, precision=HIGHEST) / jnp.asarray(N, W.dtype)


def _wigner_matrix(k, N: int, beta: float, dt):
    if beta == 1:
        A = jax.random.normal(k, (N, N), dt)
        H = A + A.T
    else:
        kr, ki = jax.random.split(k)
        half = jnp.sqrt(jnp.asarray(0.5, dt))
        A = lax.complex(
            half * jax.random.normal(kr, (N, N), dt), half * jax.random.normal(ki, (N, N), dt)
        )
        H = A + jnp.conj(A).T
    return H / jnp.sqrt(jnp.asarray(2.0 * N, H.dtype))


def _make(spec):
    kind, N, M, beta, dt = spec
    if kind == "wishart":
        return functools.partial(_wishart_matrix, N=N, M=M, beta=beta, dt=dt)
    return functools.partial(_wigner_matrix, N=N, beta=beta, dt=dt)


@functools.partial(jax.jit, static_argnames=("spec",))
def _batch_matrices(keys, spec):
    return jax.vmap(_make(spec))(keys)


@functools.partial(jax.jit, static_argnames=("spec",))
def _batch_top_xla(keys, spec):
    return jnp.linalg.eigvalsh(jax.vmap(_make(spec))(keys))[..., -1].real


def _dense_top(key, sigma_pow, spec, *, num: int, dt, batch: int):
    """λ_max of ``num`` dense matrices, ``batch`` at a time.

    On the CPU backend the matrices are drawn by XLA and diagonalised by the eigenvalues-only
    LAPACK driver on the host (numpy), like ``htrmt.esd``: XLA's CPU ``eigvalsh`` also computes
    eigenvectors and is several times slower. Other backends use ``jnp.linalg.eigvalsh``.
    """
    keys = jax.random.split(key, num)
    out = []
    for i in range(0, num, batch):
        kb = keys[i : i + batch]
        if jax.default_backend() == "cpu":
            X = np.asarray(_batch_matrices(kb, spec))
            out.append(np.linalg.eigvalsh(X)[..., -1].real.astype(np.dtype(dt)))
        else:
            out.append(_batch_top_xla(kb, spec))
    lam = jnp.concatenate([jnp.asarray(o, dt) for o in out])
    return sigma_pow * lam


def _dense_wishart(key, sigma, *, num: int, N: int, M: int, beta: float, dt, batch: int):
    spec = ("wishart", N, M, beta, jnp.dtype(dt))
    return _dense_top(key, jnp.asarray(sigma, dt) ** 2, spec, num=num, dt=dt, batch=batch)


def _dense_wigner(key, sigma, *, num: int, N: int, beta: float, dt, batch: int):
    spec = ("wigner", N, None, beta, jnp.dtype(dt))
    return _dense_top(key, jnp.asarray(sigma, dt), spec, num=num, dt=dt, batch=batch)


@functools.partial(jax.jit, static_argnames=("num", "N", "M", "k", "beta", "dt", "solver"))
def _tri_wishart(key, sigma, *, num: int, N: int, M: int, k: int, beta: float, dt, solver: str):
    a, b2 = _td.laguerre_tridiagonal(key, num, N, M, k, beta, dt)
    n = jnp.asarray(N, dt)
    a, b2 = a / n, b2 / (n * n)
    if solver == "laguerre":
        lam = _td.tridiagonal_largest_laguerre(a, b2)
    else:
        lam = _td.tridiagonal_largest(a, b2)
    return jnp.asarray(sigma, dt) ** 2 * lam


@functools.partial(jax.jit, static_argnames=("num", "N", "k", "beta", "dt", "solver"))
def _tri_wigner(key, sigma, *, num: int, N: int, k: int, beta: float, dt, solver: str):
    a, b2 = _td.hermite_tridiagonal(key, num, N, k, beta, dt)
    if solver == "laguerre":
        lam = _td.tridiagonal_largest_laguerre(a, b2)
    else:
        lam = _td.tridiagonal_largest(a, b2)
    return jnp.asarray(sigma, dt) * lam


def largest_eigenvalues(
    key: jax.Array,
    num: int,
    N: int,
    M: int,
    *,
    beta: float = 1,
    method: str = "tridiagonal",
    sigma: float = 1.0,
    dtype: Any = None,
    truncation: int | None = None,
    solver: str = "laguerre",
    batch_size: int | None = None,
) -> Float[Array, " num"]:
    """Samples of the largest eigenvalue λ_max of ``X = WᵀW/N`` for Gaussian W (N×M, N >= M).

    ``β = 1``: real entries ``N(0, σ²)``; ``β = 2``: complex entries with ``E|w|² = σ²``
    (real and imaginary parts ``N(0, σ²/2)``); any ``β > 0`` with ``method="tridiagonal"``
    (the β-Laguerre ensemble with the same normalisation, ``E λ = σ²``). This is the
    normalisation of :func:`htrmt.esd`: the bulk fills Marchenko–Pastur and
    λ_max → ``λ+ = σ²(1 + 1/√Q)²``.

    Methods:
        - ``"tridiagonal"`` (default): the Dumitriu–Edelman bidiagonal model ``B`` with
          ``B_ii = χ_{β(N−i)}/√β``, ``B_{i+1,i} = χ_{β(M−1−i)}/√β``, whose ``BBᵀ`` has exactly the
          eigenvalues of ``WᴴW``. Only its top-left ``k = ⌈10·M^{1/3}⌉ + 10`` rows are used
          (Edelman–Persson): the truncated λ_max is a lower bound of the full one and differs from
          it by less than ``10⁻⁶`` TW scales (checked in the tests against the full model).
          λ_max of each ``k×k`` tridiagonal matrix is found by Laguerre's iteration on the
          characteristic polynomial (``solver="laguerre"``, cubic convergence from the Gershgorin
          bound) or by bisection on Sturm counts (``solver="bisection"``), vectorised over all
          samples: one XLA computation of cost ``O(num·M^{1/3})`` whatever N.
        - ``"dense"``: draws each W and runs ``eigvalsh`` of its M×M Gram matrix, batched with
          ``lax.map(..., batch_size)`` so that at most ~256 MiB of matrices exist at once.
          Cost ``O(num·N·M²)``. β must be 1 or 2.

    Args:
        key: a ``jax.random`` key.
        num: number of samples (>= 1).
        N: rows of W (int, >= M).
        M: columns of W (int, >= 1).
        beta: Dyson index; 1 or 2 for ``"dense"``, any ``> 0`` for ``"tridiagonal"``.
        method: ``"tridiagonal"`` or ``"dense"``.
        sigma: entry standard deviation (``E|w|² = σ²``), > 0.
        dtype: real float dtype of the result; default follows ``jax_enable_x64``.
        truncation: rows kept by the tridiagonal method (default ``⌈10·M^{1/3}⌉ + 10``,
            capped at M; pass M for the full model).
        solver: ``"laguerre"`` or ``"bisection"`` (tridiagonal method).
        batch_size: matrices per batch of the dense method (default: a 256 MiB budget).

    Returns:
        Array of shape ``(num,)`` and the requested dtype.

    Raises:
        TypeError: non-integer sizes, a bad key or dtype, a non-numeric β.
        ValueError: ``num <= 0``, ``N < M``, ``β <= 0`` (or β ∉ {1, 2} with ``"dense"``),
            ``sigma <= 0``, an unknown method or solver.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.edge.largest_eigenvalues(jax.random.key(0), 1000, 4000, 2000)
        >>> lam.shape
        (1000,)

    References:
        Dumitriu & Edelman (2002), J. Math. Phys. 43, 5830 (β-Laguerre bidiagonal model).
        Edelman & Persson (2005), arXiv:math-ph/0501068 (truncation to ~10·n^{1/3} rows).
        Johnstone (2001), Ann. Statist. 29, 295 (Tracy–Widom limit of λ_max).
    """
    key = check_key(key)
    check_choice(method, "method", METHODS)
    check_choice(solver, "solver", SOLVERS)
    _check_sizes(num, N, M)
    b = _check_beta(beta, method)
    check_scalar(sigma, "sigma", gt=0)
    dt = float_dtype(dtype)
    if method == "dense":
        per = (N * M + 2 * M * M) * jnp.dtype(dt).itemsize * (1 if b == 1 else 2)
        return _dense_wishart(
            key, sigma, num=num, N=N, M=M, beta=b, dt=dt, batch=_batch(num, per, batch_size)
        )
    k = _truncation(truncation, M)
    return _tri_wishart(key, sigma, num=num, N=N, M=M, k=k, beta=b, dt=dt, solver=solver)


def wigner_largest_eigenvalues(
    key: jax.Array,
    num: int,
    N: int,
    *,
    beta: float = 1,
    method: str = "tridiagonal",
    sigma: float = 1.0,
    dtype: Any = None,
    truncation: int | None = None,
    solver: str = "laguerre",
    batch_size: int | None = None,
) -> Float[Array, " num"]:
    """Samples of λ_max of an N×N Gaussian Wigner matrix (β-Hermite ensemble).

    Normalised as :func:`htrmt.ensembles.wigner`: ``H = σ(A + Aᴴ)/√(2N)`` with ``E|A_ij|² = 1``
    (β = 1: GOE, β = 2: GUE), off-diagonal ``E|H_ij|² = σ²/N``, spectrum on the semicircle
    ``[−2σ, 2σ]``; then ``(λ_max − 2σ)·N^{2/3}/σ → TW_β`` (:func:`wigner_tw_scaling`).
    The tridiagonal method uses the Dumitriu–Edelman model
    ``H = (σ/√(Nβ))·tridiag(√2·g_i; χ_{β(N−1−i)})``, truncated to the top ``⌈10·N^{1/3}⌉ + 10``
    rows, and accepts any β > 0.

    Args:
        key: a ``jax.random`` key.
        num: number of samples (>= 1).
        N: matrix size (int, >= 2).
        beta: Dyson index; 1 or 2 for ``"dense"``, any ``> 0`` for ``"tridiagonal"``.
        method: ``"tridiagonal"`` or ``"dense"``.
        sigma: scale σ (semicircle radius 2σ), > 0.
        dtype: real float dtype.
        truncation: rows kept by the tridiagonal method (default ``⌈10·N^{1/3}⌉ + 10``).
        solver: ``"laguerre"`` or ``"bisection"``.
        batch_size: matrices per batch of the dense method.

    Returns:
        Array of shape ``(num,)``.

    Raises:
        TypeError, ValueError: as :func:`largest_eigenvalues`.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.edge.wigner_largest_eigenvalues(jax.random.key(0), 100, 10_000)

    References:
        Dumitriu & Edelman (2002), J. Math. Phys. 43, 5830. Edelman & Persson (2005).
        Tracy & Widom (1994, 1996).
    """
    key = check_key(key)
    check_choice(method, "method", METHODS)
    check_choice(solver, "solver", SOLVERS)
    _check_sizes(num, N, None)
    if N < 2:
        raise ValueError(f"N must be >= 2, got N={N}")
    b = _check_beta(beta, method)
    check_scalar(sigma, "sigma", gt=0)
    dt = float_dtype(dtype)
    if method == "dense":
        per = 3 * N * N * jnp.dtype(dt).itemsize * (1 if b == 1 else 2)
        return _dense_wigner(
            key, sigma, num=num, N=N, beta=b, dt=dt, batch=_batch(num, per, batch_size)
        )
    k = _truncation(truncation, N)
    return _tri_wigner(key, sigma, num=num, N=N, k=k, beta=b, dt=dt, solver=solver)
