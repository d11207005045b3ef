"""Matrix-free Lanczos tridiagonalisation and top eigenvalues of a symmetric operator."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_int, check_key, check_scalar, float_dtype, is_concrete

HIGHEST = jax.lax.Precision.HIGHEST  # no TF32/bf16 rounding of float32 products

__all__ = ["Operator", "as_operator", "lanczos", "Tridiagonal", "top_eigenvalues", "TopEigenvalues"]


@dataclasses.dataclass(frozen=True)
class Operator:
    """A symmetric linear operator known only through its matrix–vector product.

    Attributes:
        matvec: ``v ↦ A v`` on flat vectors of length ``dim``.
        dim: the size of ``A``.
        dtype: the float dtype of its vectors.
        unravel: maps a flat vector back to the parameter pytree (``None`` for plain matrices).
    """

    matvec: Callable[[Array], Array]
    dim: int
    dtype: Any
    unravel: Callable[[Array], Any] | None = None


def as_operator(A: Any, dim: int | None = None, dtype: Any = None) -> Operator:
    """An :class:`Operator` from an operator, a dense symmetric matrix, or a matvec with ``dim``."""
    if isinstance(A, Operator):
        return A
    if callable(A):
        if dim is None:
            raise ValueError(
                "a matvec callable needs dim=, the length of its vectors; got dim=None"
            )
        dim = check_int(dim, "dim", ge=2)
        return Operator(A, dim, float_dtype(dtype))
    arr = jnp.asarray(A)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(
            f"A must be a square matrix, an Operator or a matvec; got shape {arr.shape}"
        )
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise TypeError(f"A must be a real floating matrix, got dtype {arr.dtype}")
    return Operator(lambda v: jnp.matmul(arr, v, precision=HIGHEST), int(arr.shape[0]), arr.dtype)


class Tridiagonal(eqx.Module):
    """The Lanczos tridiagonal matrix ``T = VᵀAV``.

    Attributes:
        alpha: diagonal, shape ``(..., m)``.
        beta: off-diagonal, shape ``(..., m)``; ``beta[..., :-1]`` couples consecutive Lanczos
            vectors, ``beta[..., -1]`` is the norm of the final residual (0: invariant subspace).
    """

    alpha: Array
    beta: Array

    def matrix(self) -> Array:
        """The dense ``m × m`` matrix ``T`` (batched over leading axes)."""
        off = self.beta[..., :-1]
        return (
            jnp.vectorize(jnp.diag, signature="(m)->(m,m)")(self.alpha)
            + _offdiag(off, 1)
            + _offdiag(off, -1)
        )

    def eigh(self) -> tuple[Array, Array]:
        """Ritz values (ascending) and the eigenvectors of ``T``."""
        return jnp.linalg.eigh(self.matrix())

    def quadrature(self) -> tuple[Array, Array]:
        """Gauss quadrature of the probe's spectral measure: nodes (Ritz values) and weights
        (squared first components of the eigenvectors of ``T``), which sum to 1."""
        theta, S = self.eigh()
        return theta, S[..., 0, :] ** 2


def _offdiag(b, k):
    m = b.shape[-1] + 1
    return jnp.vectorize(lambda x: jnp.diag(x, k), signature="(n)->(m,m)")(b).reshape(
        *b.shape[:-1], m, m
    )


@functools.partial(jax.jit, static_argnames=("matvec", "num_steps", "reorthogonalize"))
def _lanczos(matvec, v0, num_steps, reorthogonalize):
    dt = v0.dtype
    dim = v0.shape[0]
    v0 = v0 / jnp.linalg.norm(v0)
    tiny = jnp.finfo(dt).eps * 10
    V = jnp.zeros((num_steps if reorthogonalize else 1, dim), dt)

    def body(i, carry):
        V, v, v_prev, b_prev, alpha, beta, scale = carry
        if reorthogonalize:
            V = V.at[i].set(v)
        w = matvec(v) - b_prev * v_prev
        a = jnp.vdot(v, w)
        w = w - a * v
        if reorthogonalize:  # twice is enough (Kahan–Parlett)
            w = w - jnp.matmul(V.T, jnp.matmul(V, w, precision=HIGHEST), precision=HIGHEST)
            w = w - jnp.matmul(V.T, jnp.matmul(V, w, precision=HIGHEST), precision=HIGHEST)
        b = jnp.linalg.norm(w)
        scale = jnp.maximum(scale, jnp.abs(a) + b)
        ok = b > tiny * scale
        v_next = jnp.where(ok, w / jnp.where(ok, b, 1.0), jnp.zeros_like(w))
        b = jnp.where(ok, b, 0.0)
        return V, v_next, v, b, alpha.at[i].set(a), beta.at[i].set(b), scale

    z = jnp.zeros((num_steps,), dt)
    init = (V, v0, jnp.zeros_like(v0), jnp.zeros((), dt), z, z, jnp.zeros((), dt))
    out = jax.lax.fori_loop(0, num_steps, body, init)
    return out[4], out[5]


def lanczos(
    key: jax.Array,
    A: Any,
    num_steps: int,
    *,
    dim: int | None = None,
    reorthogonalize: bool = True,
    dtype: Any = None,
) -> Tridiagonal:
    """Lanczos tridiagonalisation of a symmetric operator from a random unit start vector.

    Args:
        key: ``jax.random`` key of the start vector (Rademacher, normalised).
        A: an :class:`Operator`, a dense symmetric matrix, or a matvec callable (then ``dim=``).
        num_steps: number of Lanczos steps ``m`` (``2 <= m <= dim``).
        dim: vector length when ``A`` is a plain callable.
        reorthogonalize: full reorthogonalisation against all previous Lanczos vectors (stores
            ``m × dim`` numbers; without it the memory is ``O(dim)`` but copies of converged Ritz
            values ("ghosts") appear, harmless for densities, wrong for multiplicities).
        dtype: vector dtype for a plain callable (default: follows ``jax_enable_x64``).

    Returns:
        :class:`Tridiagonal` with ``alpha`` and ``beta`` of length ``m``.

    Raises:
        ValueError: ``num_steps`` outside ``[2, dim]``.

    Example:
        >>> import jax, jax.numpy as jnp, htrmt as ht
        >>> A = jnp.diag(jnp.arange(1.0, 51.0))
        >>> T = ht.hessian.lanczos(jax.random.key(0), A, 50)
        >>> round(float(T.eigh()[0][-1]), 3)
        50.0

    References:
        Lanczos (1950), J. Res. NBS 45, 255; Golub & Van Loan, Matrix Computations, Sec. 10.1.
    """
    key = check_key(key)
    op = as_operator(A, dim, dtype)
    num_steps = check_int(num_steps, "num_steps", ge=2)
    if num_steps > op.dim:
        raise ValueError(f"num_steps must be <= dim={op.dim}, got num_steps={num_steps}")
    v0 = jax.random.rademacher(key, (op.dim,), op.dtype)
    a, b = _lanczos(op.matvec, v0, num_steps, bool(reorthogonalize))
    return Tridiagonal(a, b)


class TopEigenvalues(eqx.Module):
    """Top eigenvalues by Lanczos.

    Attributes:
        eigenvalues: the ``k`` largest Ritz values, descending.
        residuals: ``|β_m s_mi|``, a bound on ``|θ_i − λ|`` for some eigenvalue ``λ`` of ``A``.
        num_steps: Lanczos steps used.
    """

    eigenvalues: Float[Array, " k"]
    residuals: Float[Array, " k"]
    num_steps: int = eqx.field(static=True)


def top_eigenvalues(
    key: jax.Array,
    A: Any,
    k: int = 5,
    *,
    num_steps: int | None = None,
    tol: float | None = 1e-6,
    dim: int | None = None,
    dtype: Any = None,
    which: str = "largest",
) -> TopEigenvalues:
    """The ``k`` largest (or largest-magnitude) eigenvalues of a symmetric operator by Lanczos.

    Full reorthogonalisation; the residual of each Ritz pair ``|β_m s_mi|`` bounds the distance to
    the
    nearest true eigenvalue, and must be below ``tol · max|θ|``.

    Args:
        key: ``jax.random`` key of the start vector.
        A: an :class:`Operator`, a dense symmetric matrix, or a matvec (then ``dim=``).
        k: number of eigenvalues.
        num_steps: Lanczos steps (default ``min(dim, max(4k, 60))``).
        tol: required relative accuracy; ``None`` skips the check.
        dim, dtype: for a plain callable.
        which: ``"largest"`` (algebraic) or ``"magnitude"``.

    Returns:
        :class:`TopEigenvalues`.

    Raises:
        ValueError: ``k`` < 1 or > ``num_steps``; the Ritz values did not reach ``tol`` in
            ``num_steps`` steps ("too few Lanczos steps for the requested accuracy"; under
            ``jit`` an ``equinox.error_if`` runtime error).

    Example:
        >>> import jax, jax.numpy as jnp, htrmt as ht
        >>> top = ht.hessian.top_eigenvalues(jax.random.key(0), jnp.diag(jnp.arange(1.0, 101.0)), 2,
        ...                                  num_steps=100)
        >>> [round(float(t), 3) for t in top.eigenvalues]
        [100.0, 99.0]
    """
    op = as_operator(A, dim, dtype)
    k = check_int(k, "k", ge=1)
    if which not in ("largest", "magnitude"):
        raise ValueError(f"which must be 'largest' or 'magnitude', got which={which!r}")
    if num_steps is None:
        num_steps = min(op.dim, max(4 * k, 60))
    num_steps = check_int(num_steps, "num_steps", ge=2)
    if k > num_steps:
        raise ValueError(f"k must be <= num_steps, got k={k}, num_steps={num_steps}")
    if tol is not None:
        check_scalar(tol, "tol", gt=0.0)
    T = lanczos(key, op, num_steps, reorthogonalize=True)
    theta, S = T.eigh()
    res = jnp.abs(T.beta[-1] * S[-1, :])
    order = jnp.argsort(-theta if which == "largest" else -jnp.abs(theta))[:k]
    ev, r = theta[order], res[order]
    if tol is not None:
        scale = jnp.max(jnp.abs(theta))
        worst = jnp.max(r)
        bad = ~(worst <= tol * jnp.maximum(scale, float(np.finfo(np.float32).tiny)))
        if not is_concrete(bad):  # under jit/vmap: a runtime error (equinox.error_if)
            ev = eqx.error_if(
                ev, bad, "too few Lanczos steps for the requested accuracy; increase num_steps"
            )
        elif bool(bad):
            raise ValueError(
                f"too few Lanczos steps for the requested accuracy: num_steps={num_steps} leaves a "
                f"Ritz residual {float(worst):.3g} > tol·max|θ| = {tol * float(scale):.3g} for the "
                f"top k={k}; increase num_steps (or loosen tol)"
            )
    return TopEigenvalues(ev, r, num_steps)
