"""The Marchenko–Pastur bulk fit as a JAX function of a fixed-size spectrum.

:func:`marchenko_pastur_jit` is the same fit as the host :func:`htrmt.fit.marchenko_pastur`
(the same null set and rank-deficit correction, spike-robust median start, bulk/σ alternation
with its cycle rule, the three σ estimators, the TW margin), written with array operations so
that it runs under ``jax.jit`` and ``jax.vmap`` (a batch of layers' spectra in one call, on any
device). Its one difference is how the KS σ is found: the crossing of the two one-sided KS
distances (``A`` rises with σ², ``B`` falls) is located by bisection on ``log σ²`` in the
closed-form CDF, to the dtype's resolution, instead of the host's active-set Newton iteration;
both find the exact minimiser, so the fields agree to rounding (tested). The spikes themselves
are a variable-size set: here only their number and the threshold come back
(``evals > threshold`` selects them).
"""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._checks import (
    as_float_array,
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_scalar,
    is_concrete,
)
from .._status import Status, first_failure, raise_if_failed
from ..laws._marchenko_pastur import _cdf_t
from ._marchenko_pastur import MARGINS, METHODS, MIN_EIGENVALUES, TW1_MEAN, tw1_quantile

__all__ = ["MarchenkoPasturBulk", "marchenko_pastur_jit"]

_BISECT = 110  # bisection steps on log σ²: a bracket of width < 2^50 closes to below 1e-16


class MarchenkoPasturBulk(eqx.Module):
    """Result of :func:`marchenko_pastur_jit`: the fields of ``MarchenkoPasturFit`` as arrays.

    Attributes:
        sigma, lambda_plus, lambda_minus, threshold, margin, tw_scale, D_bulk, sigma_ks,
            sigma_edge, sigma_moment, Q: as in :class:`htrmt.fit.MarchenkoPasturFit` (``Q`` is
            the aspect ratio of the non-null part, ``Q·M/r``).
        num_spikes, num_bulk, num_zero, iterations: counts (int32).
        converged: whether the bulk/σ alternation reached a fixed point.
        status: an :class:`htrmt.Status` code: ``OK``, ``NOT_CONVERGED``, ``RANK_DEFICIENT``
            (more than a tenth null), ``TOO_FEW_DATA`` (under 8 non-null eigenvalues; the
            fields are then NaN) or ``NONFINITE``.
        method, margin_rule: the options (static).
    """

    sigma: Float[Array, "*b"]
    lambda_plus: Float[Array, "*b"]
    lambda_minus: Float[Array, "*b"]
    threshold: Float[Array, "*b"]
    margin: Float[Array, "*b"]
    tw_scale: Float[Array, "*b"]
    D_bulk: Float[Array, "*b"]
    sigma_ks: Float[Array, "*b"]
    sigma_edge: Float[Array, "*b"]
    sigma_moment: Float[Array, "*b"]
    Q: Float[Array, "*b"]
    num_spikes: Int[Array, "*b"]
    num_bulk: Int[Array, "*b"]
    num_zero: Int[Array, "*b"]
    iterations: Int[Array, "*b"]
    converged: Bool[Array, "*b"]
    status: Int[Array, "*b"]
    method: str = eqx.field(static=True, default="ks")
    margin_rule: str = eqx.field(static=True, default="tw")

    @property
    def ok(self) -> Bool[Array, "*b"]:
        return self.status == Status.OK

    @property
    def message(self) -> str:
        """The first non-OK status of a (batched) concrete result, in words."""
        return first_failure(self.status).message


def _unit_ppf_half(y: Array) -> Array:
    """Median of the unit-σ MP law with ``y = 1/Q`` (bisection on the closed-form CDF)."""
    a = (1.0 - jnp.sqrt(y)) ** 2
    b = (1.0 + jnp.sqrt(y)) ** 2

    def step(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        below = _cdf_t(mid, y, a, b) < 0.5
        return jnp.where(below, mid, lo), jnp.where(below, hi, mid)

    lo, hi = lax.fori_loop(0, 80, step, (a, b))
    return 0.5 * (lo + hi)


def _ks(lam: Array, mask: Array, rank: Array, n: Array, y: Array, a, b, sig2: Array):
    """One-sided KS distances ``A = max(i/n − F)``, ``B = max(F − (i−1)/n)`` over the mask."""
    f = _cdf_t(lam / sig2, y, a, b)
    nf = n.astype(lam.dtype)
    A = jnp.max(jnp.where(mask, rank / nf - f, -jnp.inf))
    B = jnp.max(jnp.where(mask, f - (rank - 1) / nf, -jnp.inf))
    return A, B


def _fit_ks(lam, mask, rank, n, y, a, b, lo_x, hi_x):
    """σ² where A = B (the KS minimiser): bisection on ``u = log σ²``."""
    lo = jnp.log(lo_x / b)  # every F = 1: A = 0 < B = 1
    # every F = 0 at σ² = hi_x/a (a > 0); at Q = 1 (a = 0) 60 e-folds put F below 1e-13
    hi = jnp.where(a > 0, jnp.log(hi_x / jnp.where(a > 0, a, 1.0)), jnp.log(hi_x) + 60.0)

    def step(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        A, B = _ks(lam, mask, rank, n, y, a, b, jnp.exp(mid))
        return jnp.where(A < B, mid, lo), jnp.where(A < B, hi, mid)

    lo, hi = lax.fori_loop(0, _BISECT, step, (lo, hi))
    return jnp.exp(0.5 * (lo + hi))


@functools.partial(jax.jit, static_argnames=("method", "rule", "c_val", "max_iter"))
def _fit(x, Q, zero_tol, *, method, rule, c_val, max_iter):
    dt = x.dtype
    M = x.shape[0]
    finite = jnp.all(jnp.isfinite(x))
    lam = jnp.sort(jnp.where(jnp.isfinite(x), x, 0))
    top = jnp.max(jnp.abs(lam))
    eps = jnp.finfo(dt).eps
    zt = M * eps * top if zero_tol is None else zero_tol
    lam = jnp.maximum(lam, 0.0)
    idx = jnp.arange(M, dtype=jnp.int32)
    nonnull = lam > zt
    z = M - jnp.sum(nonnull, dtype=jnp.int32)  # sorted: the null eigenvalues are the first z
    r = M - z
    enough = r >= MIN_EIGENVALUES
    rs = jnp.maximum(r, 1).astype(dt)
    Qr = jnp.where(z > 0, Q * M / rs, Q).astype(dt)
    y = 1.0 / Qr
    a = (1.0 - jnp.sqrt(y)) ** 2
    b = (1.0 + jnp.sqrt(y)) ** 2
    lp1 = (1.0 + 1.0 / jnp.sqrt(Qr)) ** 2
    lm1 = (1.0 - 1.0 / jnp.sqrt(Qr)) ** 2
    s1 = Qr**-0.5 * lp1 ** (2.0 / 3.0) * rs ** (-2.0 / 3.0)

    def margin_of(sig2):
        s = s1 * sig2
        return c_val * s if rule == "tw" else jnp.sqrt(s)

    def bulk_of(k):
        mask = (idx >= z) & (idx < z + k)
        return mask, (idx - z + 1).astype(dt)

    def estimate(sig2_prev, k, which):
        mask, rank = bulk_of(k)
        if which == "moment":
            return jnp.sum(jnp.where(mask, lam, 0.0)) / k.astype(dt)
        if which == "edge":
            return lam[jnp.clip(z + k - 1, 0, M - 1)] / (lp1 + TW1_MEAN * s1)
        return _fit_ks(
            lam,
            mask,
            rank,
            k,
            y,
            a,
            b,
            lam[jnp.clip(z, 0, M - 1)],
            lam[jnp.clip(z + k - 1, 0, M - 1)],
        )

    # spike-robust start: the median of the non-null eigenvalues over the MP median
    lo_mid = jnp.clip(z + (r - 1) // 2, 0, M - 1)
    hi_mid = jnp.clip(z + r // 2, 0, M - 1)
    sig2_0 = 0.5 * (lam[lo_mid] + lam[hi_mid]) / _unit_ppf_half(y)

    def cond(s):
        it, _, _, _, stop, _ = s
        return (~stop) & (it < max_iter)

    def body(s):
        it, k_prev, sig2, _, _, seen = s
        thr = sig2 * lp1 + margin_of(sig2)
        k = jnp.maximum(jnp.sum(nonnull & (lam <= thr), dtype=jnp.int32), MIN_EIGENVALUES).astype(
            jnp.int32
        )
        same = k == k_prev
        cycle = jnp.any(seen == k) & ~same
        new = ~(same | cycle)
        sig2_new = jnp.where(new, estimate(sig2, k, method), sig2)
        seen = jnp.where(new, seen.at[it].set(k), seen)
        return (it + 1, jnp.where(new, k, k_prev), sig2_new, same, same | cycle, seen)

    init = (
        jnp.int32(0),
        jnp.int32(-1),
        sig2_0,
        jnp.bool_(False),
        ~(enough & finite),
        jnp.full((max_iter,), -1, jnp.int32),
    )
    it, k, sig2, converged, _, _ = lax.while_loop(cond, body, init)
    k = jnp.maximum(k, MIN_EIGENVALUES)
    mask, rank = bulk_of(k)
    kmax = lam[jnp.clip(z + k - 1, 0, M - 1)]
    sig2_ks = (
        sig2
        if method == "ks"
        else _fit_ks(lam, mask, rank, k, y, a, b, lam[jnp.clip(z, 0, M - 1)], kmax)
    )
    sig2_edge = estimate(sig2, k, "edge")
    sig2_mom = estimate(sig2, k, "moment")
    sig2 = {"ks": sig2_ks, "edge": sig2_edge, "moment": sig2_mom}[method]
    lam_plus = sig2 * lp1
    marg = margin_of(sig2)
    thr = lam_plus + marg
    num_bulk = jnp.sum(nonnull & (lam <= thr), dtype=jnp.int32)
    kb = jnp.where(num_bulk > 0, num_bulk, k)
    mb, rb = bulk_of(kb)
    A, B = _ks(lam, mb, rb, kb, y, a, b, sig2)
    status = jnp.where(
        ~finite,
        Status.NONFINITE,
        jnp.where(
            ~enough,
            Status.TOO_FEW_DATA,
            jnp.where(
                ~converged,
                Status.NOT_CONVERGED,
                jnp.where(10 * z > M, Status.RANK_DEFICIENT, Status.OK),
            ),
        ),
    ).astype(jnp.int32)
    good = finite & enough
    nan = jnp.asarray(jnp.nan, dt)

    def f(v):
        return jnp.where(good, jnp.asarray(v, dt), nan)

    return MarchenkoPasturBulk(
        sigma=f(jnp.sqrt(sig2)),
        lambda_plus=f(lam_plus),
        lambda_minus=f(sig2 * lm1),
        threshold=f(thr),
        margin=f(marg),
        tw_scale=f(s1 * sig2),
        D_bulk=f(jnp.maximum(A, B)),
        sigma_ks=f(jnp.sqrt(sig2_ks)),
        sigma_edge=f(jnp.sqrt(jnp.maximum(sig2_edge, 0.0))),
        sigma_moment=f(jnp.sqrt(sig2_mom)),
        Q=Qr,
        num_spikes=jnp.where(good, jnp.sum(nonnull & (lam > thr), dtype=jnp.int32), 0).astype(
            jnp.int32
        ),
        num_bulk=jnp.where(good, num_bulk, 0).astype(jnp.int32),
        num_zero=z.astype(jnp.int32),
        iterations=it,
        converged=converged & good,
        status=status,
        method=method,
        margin_rule=rule,
    )


def marchenko_pastur_jit(
    evals: Float[ArrayLike, " m"],
    Q: ArrayLike,
    *,
    method: str = "ks",
    margin: str = "tw",
    c: float | None = None,
    tw_quantile: float = 0.99,
    zero_tol: ArrayLike | None = None,
    max_iter: int = 50,
    throw: bool = False,
) -> MarchenkoPasturBulk:
    """The Marchenko–Pastur bulk fit of a fixed-size spectrum, under ``jit`` and ``vmap``.

    The same fit as :func:`htrmt.fit.marchenko_pastur` (read it for the method, margins, the
    null set and the rank-deficit correction); this form takes and returns arrays, so a batch
    of same-size spectra fits in one compiled call (``jax.vmap(lambda e:
    marchenko_pastur_jit(e, Q))(batch)``) and it composes with the rest of a jitted program.
    Bad data cannot raise under ``jit``: NaN/Inf give status ``NONFINITE``, fewer than 8
    non-null eigenvalues ``TOO_FEW_DATA`` (NaN fields); concrete bad data raise as in the host
    fit. Negative values are clipped at 0 (null when below ``zero_tol``).

    Args:
        evals: 1-D eigenvalues of ``WᵀW/N`` (any order).
        Q: aspect ratio ``N/M >= 1`` (may be traced).
        method, margin, c, tw_quantile, zero_tol, max_iter: as in the host fit
            (``method``, ``margin``, ``c``, ``tw_quantile``, ``max_iter`` static).
        throw: raise when the status is not ``OK`` (eagerly a ``ValueError``; under ``jit`` an
            ``equinox.error_if``). Default ``False``: check ``fit.ok``.

    Returns:
        A :class:`MarchenkoPasturBulk` (arrays; the spikes are ``evals > fit.threshold``).

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.spiked_covariance(jax.random.key(0), (1000, 500), spikes=(10.0,))
        >>> fit = jax.jit(ht.fit.marchenko_pastur_jit)(ht.esd(W), 2.0)
        >>> int(fit.num_spikes)
        1
    """
    check_choice(method, "method", METHODS)
    check_choice(margin, "margin", MARGINS)
    check_scalar(tw_quantile, "tw_quantile", gt=0.0, lt=1.0)
    if c is not None:
        check_scalar(c, "c", ge=0.0)
    max_iter = check_int(max_iter, "max_iter", ge=1)
    throw = check_bool(throw, "throw")
    x = as_float_array(evals, "evals")
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D (one spectrum), got shape {x.shape}")
    if x.shape[0] < MIN_EIGENVALUES:
        raise ValueError(
            f"evals has {x.shape[0]} eigenvalues; a Marchenko–Pastur fit needs at least "
            f"{MIN_EIGENVALUES}"
        )
    if is_concrete(Q):
        check_scalar(Q, "Q", ge=1.0)
    if zero_tol is not None and is_concrete(zero_tol):
        check_scalar(zero_tol, "zero_tol", ge=0.0)
    if is_concrete(x):
        check_finite(x, "evals")
    rule = "sqrt_tw" if margin in ("sqrt_tw", "weightwatcher") else "tw"
    c_val: Any = None
    if rule == "tw":
        c_val = float(c) if c is not None else tw1_quantile(tw_quantile)
    fit = _fit(
        x,
        jnp.asarray(Q, x.dtype),
        None if zero_tol is None else jnp.asarray(zero_tol, x.dtype),
        method=method,
        rule=rule,
        c_val=c_val,
        max_iter=max_iter,
    )
    return raise_if_failed(fit, "Marchenko–Pastur fit", guard="sigma") if throw else fit
