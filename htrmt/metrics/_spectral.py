"""Per-layer spectral metrics of Heavy-Tailed Self-Regularization, from the eigenvalues of X.

Every function takes the ESD ``λ_1..λ_M`` (eigenvalues of ``X = WᵀW/N`` from ``htrmt.esd``;
pass ``normalization="none"`` eigenvalues to match the weightwatcher tool) along the last axis,
so leading batch axes work, and (except where a fit is needed) runs under ``jax.jit``.
``log`` is ``log10`` as in the weightwatcher tool; the entropy uses natural logs (it is a ratio).

References:
    Martin & Mahoney (2021), JMLR 22(165), Sec. 5.5 and 6; Martin, Peng & Mahoney (2021),
    Nature Communications 12, 4122 (alpha, alpha_hat, the norms).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._checks import as_float_array, check_finite, check_scalar, is_concrete

__all__ = [
    "alpha",
    "alpha_weighted",
    "log_norm",
    "log_spectral_norm",
    "log_alpha_norm",
    "stable_rank",
    "mp_softrank",
    "hard_rank",
    "entropy",
    "default_rtol",
]


def _evals(evals: Any, name: str = "evals") -> Array:
    x = check_finite(as_float_array(evals, name), name)
    if x.ndim < 1 or x.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty array of eigenvalues, got shape {x.shape}")
    if is_concrete(x):
        arr = np.asarray(x)
        top = np.max(arr, axis=-1)
        if np.any(top <= 0):
            raise ValueError(f"{name} has no positive eigenvalue (largest {float(np.min(top))!r})")
        eps = float(np.finfo(arr.dtype).eps)
        low = np.min(arr, axis=-1)
        tol = arr.shape[-1] * eps * top
        if np.any(low < -np.maximum(tol, 100 * eps * top)):
            raise ValueError(
                f"{name} has a negative value {float(np.min(low))!r} beyond round-off; "
                "eigenvalues of WᵀW/N are >= 0"
            )
    return x


def default_rtol(M: int, dtype: Any) -> float:
    """``M·eps(dtype)``: the relative round-off level of ``eigvalsh`` on an M×M Gram matrix."""
    return float(M * np.finfo(np.dtype(dtype)).eps)


def alpha(evals: Float[Array, " m"], **powerlaw_kwargs: Any) -> Float[Array, ""]:
    """The power-law exponent α of the ESD tail, ``ρ(λ) ~ λ^(-α)`` for ``λ >= λ_min``.

    ``α = 1 + n / Σ_{λ_i >= λ_min} ln(λ_i/λ_min)`` (Clauset–Shalizi–Newman MLE) with ``λ_min``
    chosen by minimum KS distance: :func:`htrmt.fit.powerlaw` (keyword arguments are passed on;
    it raises when the fit cannot be made).

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.pareto(jax.random.key(0), (1000, 500), mu=2.0))
        >>> a = ht.metrics.alpha(lam)
    """
    from ..fit import powerlaw

    x = _evals(evals)
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D for a power-law fit, got shape {x.shape}")
    return powerlaw(x, **powerlaw_kwargs).alpha


_fit_alpha = alpha


def alpha_weighted(
    evals: Float[Array, "... m"], alpha: Any = None, **powerlaw_kwargs: Any
) -> Float[Array, "..."]:
    """Weighted alpha (alpha_hat): ``α̂ = α · log10 λ_max``.

    Args:
        evals: eigenvalues (last axis).
        alpha: the exponent α; ``None`` fits it with :func:`alpha` (1-D ``evals`` only).
        **powerlaw_kwargs: passed to the fit when ``alpha`` is None.

    Example:
        >>> float(alpha_weighted(jnp.array([1.0, 10.0, 100.0]), alpha=2.0))
        4.0
    """
    x = _evals(evals)
    a = _fit_alpha(x, **powerlaw_kwargs) if alpha is None else jnp.asarray(alpha, x.dtype)
    return _weighted_alpha(x, a)


def log_norm(evals: Float[Array, "... m"]) -> Float[Array, "..."]:
    """Log Frobenius norm ``log10 Σ_i λ_i``.

    With ``normalization="none"`` eigenvalues this is ``log10 ‖W‖_F²`` (the weightwatcher
    ``log_norm``); with the default ``WᵀW/N`` it is ``log10(‖W‖_F²/N)``.

    Example:
        >>> float(log_norm(jnp.array([1.0, 2.0, 7.0])))
        1.0
    """
    return _log_frobenius_norm(_evals(evals))


def log_spectral_norm(evals: Float[Array, "... m"]) -> Float[Array, "..."]:
    """Log spectral norm ``log10 λ_max`` (``log10 ‖W‖_2²``, up to the 1/N of the normalization).

    Example:
        >>> float(log_spectral_norm(jnp.array([1.0, 100.0])))
        2.0
    """
    return _log_spectral_norm(_evals(evals))


def log_alpha_norm(
    evals: Float[Array, "... m"], alpha: Any = None, **powerlaw_kwargs: Any
) -> Float[Array, "..."]:
    """Log α-norm (log Schatten-2α norm to the power 2α): ``log10 Σ_i λ_i^α``.

    Args:
        evals: eigenvalues (last axis).
        alpha: the exponent; ``None`` fits it with :func:`alpha` (1-D ``evals`` only).
        **powerlaw_kwargs: passed to the fit when ``alpha`` is None.

    Example:
        >>> float(log_alpha_norm(jnp.array([1.0, 3.0]), alpha=2.0))
        1.0
    """
    x = _evals(evals)
    a = _fit_alpha(x, **powerlaw_kwargs) if alpha is None else jnp.asarray(alpha, x.dtype)
    return _log_alpha_norm(x, jnp.asarray(a, x.dtype))


def stable_rank(evals: Float[Array, "... m"]) -> Float[Array, "..."]:
    """Stable rank ``Σ_i λ_i / λ_max = ‖W‖_F² / ‖W‖_2²`` (between 1 and the rank).

    Example:
        >>> float(stable_rank(jnp.array([1.0, 1.0, 2.0])))
        2.0
    """
    return _stable_rank(_evals(evals))


def mp_softrank(
    evals: Float[Array, "... m"], Q: Any = None, *, lambda_plus: Any = None
) -> Float[Array, "..."]:
    """MP soft rank ``λ+ / λ_max``: near 1 for a random-like layer, small with strong spikes/tails.

    Args:
        evals: eigenvalues (last axis).
        Q: aspect ratio ``N/M``; used to fit ``λ+`` with :func:`htrmt.fit.marchenko_pastur`
            (1-D ``evals``) when ``lambda_plus`` is not given.
        lambda_plus: the bulk edge, if known (then the function is jit-friendly).

    Raises:
        ValueError: neither ``Q`` nor ``lambda_plus`` given.

    Example:
        >>> float(mp_softrank(jnp.array([0.5, 1.0, 8.0]), lambda_plus=2.0))
        0.25
    """
    x = _evals(evals)
    if lambda_plus is None:
        if Q is None:
            raise ValueError("mp_softrank needs Q (to fit λ+) or lambda_plus, got neither")
        from ..fit import marchenko_pastur

        lambda_plus = marchenko_pastur(x, Q).lambda_plus
    else:
        check_scalar(lambda_plus, "lambda_plus", gt=0.0)
    return _mp_soft_rank(x, jnp.asarray(lambda_plus, x.dtype))


def _rtol(x: Array, rtol: Any) -> float:
    if rtol is None:
        return default_rtol(x.shape[-1], x.dtype)
    check_scalar(rtol, "rtol", ge=0.0, lt=1.0)
    return float(rtol)


def hard_rank(evals: Float[Array, "... m"], *, rtol: float | None = None) -> Int[Array, "..."]:
    """Numerical rank: ``#{i : λ_i > rtol · λ_max}``.

    The default ``rtol = M·eps(dtype)`` is the round-off level of eigenvalues computed by
    ``eigvalsh`` of the M×M Gram matrix (its absolute error is about ``eps·λ_max`` per
    eigenvalue, growing with M). This is the rank of W resolvable from its ESD; from W itself,
    ``numpy.linalg.matrix_rank`` resolves singular values down to ``max(N, M)·eps·ν_max``.

    Args:
        evals: eigenvalues (last axis).
        rtol: relative tolerance in [0, 1).

    Example:
        >>> int(hard_rank(jnp.array([0.0, 1e-20, 0.5, 1.0])))
        2
    """
    x = _evals(evals)
    tol = jnp.asarray(_rtol(x, rtol), x.dtype) * jnp.max(x, axis=-1, keepdims=True)
    return jnp.sum(x > tol, axis=-1)


def entropy(evals: Float[Array, "... m"], *, rtol: float | None = None) -> Float[Array, "..."]:
    """Matrix (spectral) entropy ``−Σ_i p_i ln p_i / ln R``, ``p_i = ν_i²/Σ_j ν_j² = λ_i/Σ_j λ_j``.

    ``ν_i`` are the singular values of W (``λ_i ∝ ν_i²``) and ``R`` the :func:`hard_rank`; the
    sum runs over the eigenvalues counted in R. 1 for a flat spectrum of rank R, 0 for rank 1
    (defined as 0 when ``R = 1``).

    Args:
        evals: eigenvalues (last axis).
        rtol: the hard-rank tolerance (see :func:`hard_rank`).

    Example:
        >>> float(entropy(jnp.array([2.0, 2.0, 2.0, 2.0])))
        1.0
    """
    x = _evals(evals)
    return _matrix_entropy(x, _rtol(x, rtol))


# ---------------------------------------------------------------------------------------------
# The formulas, on validated eigenvalues (jit-friendly; the public functions above check their
# input and call these).


def _weighted_alpha(x: Array, a: Array) -> Array:
    return a * jnp.log10(jnp.max(x, axis=-1))


def _log_frobenius_norm(x: Array) -> Array:
    return jnp.log10(jnp.sum(jnp.maximum(x, 0.0), axis=-1))


def _log_spectral_norm(x: Array) -> Array:
    return jnp.log10(jnp.max(x, axis=-1))


def _log_alpha_norm(x: Array, a: Array) -> Array:
    if a.ndim:
        a = a[..., None]
    return jnp.log10(jnp.sum(jnp.maximum(x, 0.0) ** a, axis=-1))


def _stable_rank(x: Array) -> Array:
    return jnp.sum(jnp.maximum(x, 0.0), axis=-1) / jnp.max(x, axis=-1)


def _mp_soft_rank(x: Array, lambda_plus: Array) -> Array:
    return lambda_plus / jnp.max(x, axis=-1)


def _matrix_entropy(x: Array, rtol: float) -> Array:
    tol = jnp.asarray(rtol, x.dtype) * jnp.max(x, axis=-1, keepdims=True)
    keep = x > tol
    xs = jnp.where(keep, x, 0.0)
    p = xs / jnp.sum(xs, axis=-1, keepdims=True)
    plogp = jnp.where(keep, p * jnp.log(jnp.where(keep, p, 1.0)), 0.0)
    h = -jnp.sum(plogp, axis=-1)
    r = jnp.sum(keep, axis=-1).astype(x.dtype)
    lnr = jnp.log(jnp.maximum(r, 1.0))
    return jnp.where(r > 1, h / jnp.where(r > 1, lnr, 1.0), 0.0)


@jax.jit
def _layer_metrics(x: Array, alpha: Array, lambda_plus: Array) -> dict[str, Array]:
    """Every per-layer metric in one compiled call (NaN ``alpha``/``lambda_plus`` give NaN)."""
    return {
        "log_norm": _log_frobenius_norm(x),
        "log_spectral_norm": _log_spectral_norm(x),
        "stable_rank": _stable_rank(x),
        "entropy": _matrix_entropy(x, default_rtol(x.shape[-1], x.dtype)),
        "log_alpha_norm": _log_alpha_norm(x, alpha),
        "alpha_weighted": _weighted_alpha(x, alpha),
        "mp_softrank": _mp_soft_rank(x, lambda_plus),
    }


def layer_metrics(evals: Any, alpha: float, lambda_plus: float) -> dict[str, float]:
    """The norms, ranks, entropy and α-based metrics of one ESD at once, as Python floats.

    ``alpha`` and ``lambda_plus`` may be NaN (no fit): the metrics built on them are then NaN.
    Same values as the individual functions; one compiled call instead of one per metric.
    """
    x = _evals(evals)
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D (one spectrum), got shape {x.shape}")
    out = _layer_metrics(x, jnp.asarray(alpha, x.dtype), jnp.asarray(lambda_plus, x.dtype))
    return {k: float(v) for k, v in out.items()}
