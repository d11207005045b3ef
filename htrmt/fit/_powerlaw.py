"""Continuous power-law fit of a tail (Clauset, Shalizi & Newman 2009), vectorised.

The data are sorted once. For every candidate ``xmin = x_(k)`` (first occurrence of each distinct
positive value) the closed-form MLE ``α̂_k = 1 + m_k / Σ_{i≥k} ln(x_i/x_k)`` comes from one suffix
sum; the Kolmogorov–Smirnov distance ``D_k`` of each candidate tail against its own fitted CDF is
found by a branch and bound that is exact (the same ``argmin`` and the same ``D`` as evaluating
every candidate on every tail point) but touches only a small part of the ``O(n²)`` pairs:

1. a lower bound ``LB_k <= D_k`` for every candidate from the deviation at a coarse grid of tail
   points plus the first points of the tail (a max over a subset of the points of a sup);
2. candidates are visited in increasing ``LB_k``, a fixed-size chunk at a time, with ``D_k``
   computed exactly on its whole tail; the loop stops as soon as the next lower bound exceeds the
   best ``D`` found, so no skipped candidate can beat (or tie) the winner.

Above 16384 data the bounds also learn from the exact evaluations: each round evaluates the
chunk of smallest bounds, notes the point where each of their suprema is reached (a witness),
and raises every candidate's bound by its deviation at those points. Neighbouring tails share
almost all their points and reach their suprema at almost the same place, so the bounds of the
near-optimal tails (on pure Pareto data, thousands of them within 1e-4 of the best ``D``) come
within about ``1/m`` of their ``D`` after a round or two; without this a coarse grid of
``2√n`` points left them loose and the search visited up to ``10⁵ × 2000`` pairs.

Everything is ``jax.jit``-able with static shapes: a tail is an index and a count, not a slice.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._buckets import bucket_size
from .._checks import (
    as_float_array,
    check_bool,
    check_choice,
    check_int,
    check_scalar,
    is_concrete,
    renamed_keyword,
)
from .._status import Status, raise_if_failed

__all__ = [
    "PowerLawFit",
    "PowerLawScan",
    "powerlaw",
    "powerlaw_scan",
    "STATUS_MESSAGES",
    "KS_CONVENTIONS",
    "CREDIBILITY",
    "credibility",
    "ks_threshold",
]

KS_CONVENTIONS = ("two_sided", "powerlaw")

# Status codes of a fit (``PowerLawFit.status``, those of :class:`htrmt.Status`); 0 is success.
OK = int(Status.OK)
TOO_FEW_TAIL = int(Status.TOO_FEW_TAIL)
XMIN_ABOVE_DATA = int(Status.XMIN_ABOVE_DATA)
NO_CANDIDATE = int(Status.NO_CANDIDATE)
CONSTANT = int(Status.CONSTANT)
NONFINITE = int(Status.NONFINITE)
TOO_FEW_DATA = int(Status.TOO_FEW_DATA)
NOT_CONVERGED = int(Status.NOT_CONVERGED)

STATUS_MESSAGES = {int(c): c.message for c in Status}
STATUS_MESSAGES[NOT_CONVERGED] = "the truncated (xmax) MLE did not converge"


class PowerLawFit(eqx.Module):
    """Result of :func:`powerlaw` (a pytree; array fields are 0-d arrays).

    Attributes:
        alpha: exponent of the density ``p(x) ∝ x^(-alpha)`` on ``[xmin, xmax]``.
        xmin: lower end of the tail (chosen by minimum KS distance, or given).
        xmax: upper cut-off (``inf`` when none).
        D: KS distance between the tail's empirical CDF and the fitted CDF (convention ``ks``).
        sigma: asymptotic standard error of ``alpha``: ``(alpha - 1)/sqrt(num_tail)`` without
            xmax, ``1/sqrt(num_tail · I(alpha))`` (Fisher information of the truncated law) with it.
        num_tail: number of data points in ``xmin <= x <= xmax``.
        status: int32 code, 0 when the fit succeeded (see ``STATUS_MESSAGES``).
        num_data: number of positive, finite data values used (non-positive values are dropped).
        loglik: log-likelihood of the tail under the fitted law.
        ks: the ECDF convention of ``D`` (static).
        min_tail: the minimum tail size asked for (static).
    """

    alpha: Float[Array, ""]
    xmin: Float[Array, ""]
    xmax: Float[Array, ""]
    D: Float[Array, ""]
    sigma: Float[Array, ""]
    num_tail: Int[Array, ""]
    status: Int[Array, ""]
    num_data: Int[Array, ""]
    loglik: Float[Array, ""]
    ks: str = eqx.field(static=True, default="two_sided")
    min_tail: int = eqx.field(static=True, default=3)

    @property
    def ok(self) -> Bool[Array, ""]:
        """True where the fit succeeded (``status == 0``)."""
        return self.status == OK

    @property
    def message(self) -> str:
        """Human-readable status (needs a concrete ``status``; a batch gives the first failure)."""
        st = np.asarray(self.status).ravel()
        bad = st[st != OK]
        code = int(bad[0]) if bad.size else OK
        msg = STATUS_MESSAGES.get(code, f"unknown status {code}")
        if code in (TOO_FEW_TAIL, TOO_FEW_DATA):
            msg = msg.replace("`min_tail`", f"min_tail={self.min_tail}")
        return msg


class PowerLawScan(eqx.Module):
    """α̂, D and the tail size as functions of the candidate xmin (see :func:`powerlaw_scan`).

    Attributes:
        xmin: candidate xmin values, ascending (one per distinct positive data value, or a subset).
        alpha: the MLE exponent with that xmin.
        D: the KS distance of that tail against its fit (``inf`` where ``valid`` is False).
        sigma: ``(alpha - 1)/sqrt(num_tail)`` (Fisher-information form with an xmax).
        num_tail: the tail size.
        valid: whether the candidate satisfies the restrictions (the ones :func:`powerlaw`
            minimises over).
    """

    xmin: Float[Array, " k"]
    alpha: Float[Array, " k"]
    D: Float[Array, " k"]
    sigma: Float[Array, " k"]
    num_tail: Int[Array, " k"]
    valid: Bool[Array, " k"]


# --------------------------------------------------------------------------------------------
# Preparation: sort once, ranks, suffix sums, α̂ for every candidate.
# --------------------------------------------------------------------------------------------


class _Prep(eqx.Module):
    xs: Array  # sorted data (ascending)
    L: Array  # log of the sorted data (0 where x <= 0; never used there)
    lo: Array  # first index of each value's run of ties (ECDF left limit, times n)
    up: Array  # one past the last index of the run (ECDF right limit)
    lof: Array  # lo as floats
    upf: Array  # up as floats
    first: Array  # True at the first index of each distinct value
    pos: Array  # x > 0
    hi: Array  # number of points <= xmax (all points without xmax); scalar int
    m: Array  # tail size hi - k (clipped at 0)
    T: Array  # Σ_{k<=i<hi} ln(x_i/x_k)
    distinct: Array  # number of distinct values in [k, hi)
    finite: Array  # scalar bool: all data finite


def _prepare(x: Array, xmax: Array | None) -> _Prep:
    dt = x.dtype
    n = x.shape[0]
    finite = jnp.all(jnp.isfinite(x))
    xs = jnp.sort(jnp.where(jnp.isfinite(x), x, jnp.zeros((), dt)))
    idx = jnp.arange(n, dtype=jnp.int32)
    pos = xs > 0
    # Non-positive values (round-off negatives, exact zeros of a rank-deficient ESD) are not
    # data: they get the log of the smallest positive value, so that ``ln(x_j/x_k) <= 0`` for
    # every candidate k and they fall below every tail (deviation 0, no rank in any tail ECDF).
    # A log of 0 here would put them *above* every xmin < 1 and break the KS search.
    posmin = jnp.min(jnp.where(pos, xs, jnp.asarray(jnp.inf, dt)))
    L = jnp.log(jnp.where(pos, xs, jnp.where(jnp.isfinite(posmin), posmin, jnp.ones((), dt))))
    same_next = xs[1:] == xs[:-1]
    first = jnp.concatenate([jnp.ones((1,), bool), ~same_next])
    last = jnp.concatenate([~same_next, jnp.ones((1,), bool)])
    lo = jax.lax.cummax(jnp.where(first, idx, 0))
    up = jax.lax.cummin(jnp.where(last, idx, n - 1), reverse=True) + 1
    if xmax is None:
        hi = jnp.asarray(n, jnp.int32)
    else:
        hi = jnp.sum(xs <= xmax).astype(jnp.int32)
    m = jnp.maximum(hi - idx, 0)
    # Σ_{i=k}^{hi-1} (L_i - L_k) = Σ_{j=k}^{hi-2} (L_{j+1} - L_j)(hi - 1 - j): a suffix sum of
    # non-negative terms, accurate for every k (no cancellation, also in float32).
    gap = jnp.concatenate([L[1:] - L[:-1], jnp.zeros((1,), dt)])
    gap = jnp.where(pos, gap, jnp.zeros((), dt))
    w = gap * jnp.maximum(hi - 1 - idx, 0).astype(dt)
    T = jnp.cumsum(w[::-1])[::-1]
    inrange = idx < hi
    distinct = jnp.cumsum((first & inrange)[::-1].astype(jnp.int32))[::-1]
    lof, upf = lo.astype(dt), up.astype(dt)
    return _Prep(xs, L, lo, up, lof, upf, first, pos, hi, m, T, distinct, finite)


def _truncated_beta(S: Array, R: Array) -> tuple[Array, Array]:
    """MLE of ``β = α - 1`` of a power law truncated to ``[xmin, xmax]``.

    With ``u = ln(x/xmin) ∈ [0, R]``, ``R = ln(xmax/xmin)``, the law of ``u`` is a truncated
    exponential with rate β and the score equation is ``1/β - R/(e^{βR} - 1) = S`` (mean of u).
    With ``t = βR`` and ``s = S/R`` it reads ``φ(t) = 1/t - 1/expm1(t) = s``, φ decreasing from 1
    to 0 (φ(0) = 1/2, φ(-t) = 1 - φ(t)); the root lies in ``(-1/(1-s), 1/s)``. Vectorised bisection.

    Returns:
        (beta, converged)
    """
    dt = S.dtype
    one = jnp.ones((), dt)
    s = S / R
    ok = (s > 0) & (s < 1) & jnp.isfinite(s)
    s = jnp.where(ok, s, jnp.asarray(0.25, dt))

    def phi(t):
        small = jnp.abs(t) < 1e-4
        ts = jnp.where(small, one, t)
        big = 0.5 - t / 12 + t**3 / 720
        return jnp.where(small, big, 1 / ts - 1 / jnp.expm1(ts))

    a = -1 / (1 - s) - 1
    b = 1 / s + 1
    iters = 80 if dt == jnp.float64 else 40

    def body(_, ab):
        a, b = ab
        mid = 0.5 * (a + b)
        above = phi(mid) > s  # root is to the right
        return jnp.where(above, mid, a), jnp.where(above, b, mid)

    a, b = jax.lax.fori_loop(0, iters, body, (a, b))
    t = 0.5 * (a + b)
    return t / R, ok


def _alphas(p: _Prep, xmax: Array | None) -> tuple[Array, Array, Array]:
    """α̂, σ and converged-flag for every candidate k (tail [k, hi))."""
    dt = p.xs.dtype
    mf = p.m.astype(dt)
    Tsafe = jnp.where(p.T > 0, p.T, jnp.ones((), dt))
    if xmax is None:
        beta = mf / Tsafe
        alpha = 1 + beta
        sigma = beta / jnp.sqrt(jnp.maximum(mf, 1))
        conv = p.T > 0
    else:
        R = jnp.log(xmax) - p.L
        R = jnp.where(R > 0, R, jnp.ones((), dt))
        S = Tsafe / jnp.maximum(mf, 1)
        beta, conv = _truncated_beta(S, R)
        alpha = 1 + beta
        sigma = 1 / jnp.sqrt(jnp.maximum(mf, 1) * _truncated_information(beta, R))
    return alpha, sigma, conv


def _truncated_information(beta: Array, R: Array) -> Array:
    """Fisher information per point of the power law truncated to ``[xmin, xmin·e^R]``.

    In ``u = ln(x/xmin)`` the law is an exponential of rate β truncated to ``[0, R]``, whose
    information is ``1/β² − R² e^{βR}/(e^{βR} − 1)²``; written with ``t = βR`` it is
    ``R²·(1/t² − e^t/expm1(t)²)``, which tends to ``R²/12`` as ``t → 0`` (used below
    ``|t| < 1e-4``, where the difference loses its digits).
    """
    t = beta * R
    small = jnp.abs(t) < 1e-4
    tsafe = jnp.where(small, jnp.ones_like(t), t)
    exact = 1 / tsafe**2 - jnp.exp(tsafe) / jnp.expm1(tsafe) ** 2
    info_t = jnp.where(small, jnp.full_like(t, 1 / 12), exact)
    return info_t * R**2


def _loglik(alpha: Array, xmin: Array, T: Array, m: Array, xmax: Array | None) -> Array:
    """Tail log-likelihood Σ ln p(x_i) of the (truncated) power law."""
    dt = alpha.dtype
    beta = alpha - 1
    mf = m.astype(dt)
    lxmin = jnp.log(xmin)
    if xmax is None:
        lognorm = jnp.log(beta) - lxmin
    else:
        R = jnp.log(xmax) - lxmin
        t = beta * R
        tsafe = jnp.where(jnp.abs(t) < 1e-8, jnp.ones((), dt), t)
        # ln(β / (1 - e^{-βR})) → ln(1/R) as β → 0 (also valid for β < 0).
        lognorm = (
            jnp.where(
                jnp.abs(t) < 1e-8, -jnp.log(R), jnp.log(tsafe / -jnp.expm1(-tsafe)) - jnp.log(R)
            )
            - lxmin
        )
    return mf * lognorm - alpha * T


# --------------------------------------------------------------------------------------------
# KS distance of candidate tails.
# --------------------------------------------------------------------------------------------


def _fitted_cdf(dL: Array, beta: Array, R: Array | None) -> Array:
    """CDF at ``ln(x/xmin) = dL`` of the power law with ``β = α - 1`` (truncated at R if given)."""
    if R is None:
        return 1 - jnp.exp(-beta * dL)
    dt = dL.dtype
    t = beta * R
    small = jnp.abs(t) < 1e-8
    bs = jnp.where(small, jnp.ones((), dt), beta)
    return jnp.where(small, dL / R, jnp.expm1(-bs * dL) / jnp.expm1(-bs * R))


def _dev_at(
    p: _Prep,
    K: Array,
    beta: Array,
    R: Array | None,
    two_sided: bool,
    G: Array,
    *,
    reduce: bool = True,
) -> Array:
    """KS deviation of the candidate tails K (C,) at the points G (its max over G, a lower bound
    on their D; ``reduce=False``: the deviation at each point)."""
    f = _dev if reduce else _dev_points
    return f(
        p,
        K[:, None],
        p.L[K][:, None],
        beta[:, None],
        None if R is None else R[:, None],
        p.L[G][None, :],
        p.lof[G][None, :],
        p.upf[G][None, :],
        None if R is None else G[None, :] < p.hi,
        two_sided,
    )


def _dist_full(p: _Prep, K: Array, beta: Array, R: Array | None, two_sided: bool) -> Array:
    """Exact KS distance of the candidate tails K (C,) over all their points."""
    return _dev_at(p, K, beta, R, two_sided, jnp.arange(p.xs.shape[0], dtype=jnp.int32))


def _chunk_size(n: int, target: int = 1 << 21) -> int:
    return int(max(1, min(256, target // max(n, 1))))


def _dev(p: _Prep, Kc, Lk, beta, R, LJ, loJ, upJ, valid, two_sided) -> Array:
    """KS deviation of tails starting at ``Kc`` maximised over the points on the last axis."""
    return jnp.max(_dev_points(p, Kc, Lk, beta, R, LJ, loJ, upJ, valid, two_sided), axis=-1)


def _dev_points(p: _Prep, Kc, Lk, beta, R, LJ, loJ, upJ, valid, two_sided) -> Array:
    """KS deviation of tails starting at ``Kc`` at each point on the last axis.

    Broadcast shapes (no gathers). Points before the tail give 0 by construction (``ln(x/xmin)``
    and the ECDF clamp at 0), so ``valid`` only needs to mask points above ``xmax``
    (``None``: no mask).
    """
    dt = p.xs.dtype
    zero = jnp.zeros((), dt)
    F = _fitted_cdf(jnp.maximum(LJ - Lk, zero), beta, R)
    inv_m = 1 / jnp.maximum(p.hi - Kc, 1).astype(dt)
    Kf = Kc.astype(dt)
    g = F - jnp.maximum(loJ - Kf, zero) * inv_m
    if not two_sided:  # the package's convention: the left limit only
        dev = jnp.abs(g)
    else:
        # right limit = left limit + c, c = (size of the run of ties)/m (0 before the tail);
        # max(g, c - g) = c/2 + |g - c/2| uses g once (keeps the XLA loop fused and vectorised)
        h = jnp.minimum(jnp.maximum(upJ - Kf, zero), upJ - loJ) * (0.5 * inv_m)
        dev = h + jnp.abs(g - h)
    if valid is not None:
        dev = jnp.where(valid, dev, zero)
    return dev


def _lower_bounds(p: _Prep, beta: Array, R: Array | None, two_sided: bool) -> Array:
    """``LB_k <= D_k`` for every k: the deviation at a coarse grid and the tail's first points."""
    n = p.xs.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    ngrid = int(min(n, max(64, 2 * math.isqrt(n))))
    band = int(min(n, 16))
    grid = np.unique(np.linspace(0, n - 1, ngrid).round().astype(np.int32))
    G = jnp.asarray(grid)
    # grid part, candidates in blocks of B (dense B×G tiles)
    B = int(max(1, min(n, (1 << 18) // grid.size)))
    nb = -(-n // B)
    pad = nb * B - n
    Kb = jnp.concatenate([idx, jnp.full((pad,), n - 1, jnp.int32)]).reshape(nb, B)

    def block(Kblk):
        return _dev_at(p, Kblk, beta[Kblk], None if R is None else R[Kblk], two_sided, G)

    lb_grid = jax.lax.map(block, Kb).reshape(-1)[:n]
    # band part: points k .. k+band-1 (n × band windows)
    sh = idx[:, None] + jnp.arange(band, dtype=jnp.int32)[None, :]
    shc = jnp.minimum(sh, n - 1)
    valid = None if R is None else sh < p.hi
    Rk = None if R is None else R[:, None]
    lb_band = _dev(
        p,
        idx[:, None],
        p.L[:, None],
        beta[:, None],
        Rk,
        p.L[shc],
        p.lof[shc],
        p.upf[shc],
        valid,
        two_sided,
    )
    return jnp.maximum(lb_grid, lb_band)


#: Above this many data the search also raises bounds at the witnesses of exact evaluations.
_WITNESS_ABOVE = 16384


def _keep_best(d: Array, K: Array, best_d: Array, best_k: Array, n: int) -> tuple[Array, Array]:
    """Lexicographic min over (D, k): ties go to the smallest xmin, like numpy argmin."""
    dmin = jnp.min(d)
    kmin = jnp.min(jnp.where(d == dmin, K, n))
    better = (dmin < best_d) | ((dmin == best_d) & (kmin < best_k))
    return jnp.where(better, dmin, best_d), jnp.where(better, kmin, best_k)


def _search_witness(p: _Prep, beta, R, two_sided: bool, score: Array, C: int):
    """Branch and bound whose bounds learn from the exact evaluations (large samples).

    Each round takes the C candidates of smallest bound, computes their exact D and where the
    supremum is reached (the witness points), then raises every candidate's bound by its
    deviation at those C points. Neighbouring tails share almost all their points, so their
    suprema sit at almost the same place: after a few rounds the bounds of the near-optimal
    tails are within ~1/m of their D and the loop stops. Exact like :func:`_search`.
    """
    n = p.xs.shape[0]
    inf = jnp.asarray(jnp.inf, p.xs.dtype)
    idx = jnp.arange(n, dtype=jnp.int32)

    def cond(state):
        score, best_d, _, _ = state
        return jnp.min(score) <= best_d

    def body(state):
        score, best_d, best_k, rounds = state
        K = jax.lax.top_k(-score, C)[1].astype(jnp.int32)
        dev = _dev_at(p, K, beta[K], None if R is None else R[K], two_sided, idx, reduce=False)
        d = jnp.where(jnp.isfinite(score[K]), jnp.max(dev, axis=-1), inf)
        best_d, best_k = _keep_best(d, K, best_d, best_k, n)
        wit = jnp.argmax(dev, axis=-1).astype(jnp.int32)  # where each supremum is reached
        # every candidate's deviation at the witness points is a lower bound on its D
        score = score.at[K].set(inf)
        score = jnp.where(
            jnp.isfinite(score), jnp.maximum(score, _dev_at(p, idx, beta, R, two_sided, wit)), inf
        )
        return score, best_d, best_k, rounds + 1

    init = (score, inf, jnp.asarray(n, jnp.int32), jnp.asarray(0, jnp.int32))
    _, best_d, best_k, rounds = jax.lax.while_loop(cond, body, init)
    return best_k, best_d, rounds * C


def _search(p: _Prep, valid: Array, beta: Array, R: Array | None, two_sided: bool):
    """Exact argmin of D over the valid candidates (branch and bound). Returns (k, D, visited)."""
    n = p.xs.shape[0]
    dt = p.xs.dtype
    inf = jnp.asarray(jnp.inf, dt)

    # 1. lower bounds from a coarse grid of points and the first `band` points of each tail.
    score = jnp.where(valid, _lower_bounds(p, beta, R, two_sided), inf)
    if n > _WITNESS_ABOVE:
        # small chunks: one or two rounds of witnesses usually settle the search
        return _search_witness(p, beta, R, two_sided, score, _chunk_size(n, 1 << 19))

    # 2. exact D in increasing lower-bound order until the bound passes the best D.
    order = jnp.argsort(score, stable=True).astype(jnp.int32)
    nvalid = jnp.sum(valid).astype(jnp.int32)
    C = _chunk_size(n)
    order_p = jnp.concatenate([order, jnp.full((C,), order[-1], jnp.int32)])
    score_p = jnp.concatenate([score[order], jnp.full((C,), inf, dt)])

    def cond(state):
        start, best_d, _ = state
        return (start < nvalid) & (score_p[start] <= best_d)

    def body(state):
        start, best_d, best_k = state
        K = jax.lax.dynamic_slice(order_p, (start,), (C,))
        ok = ((start + jnp.arange(C, dtype=jnp.int32)) < nvalid) & valid[K]
        d = jnp.where(ok, _dist_full(p, K, beta[K], None if R is None else R[K], two_sided), inf)
        best_d, best_k = _keep_best(d, K, best_d, best_k, n)
        return start + C, best_d, best_k

    init = (jnp.asarray(0, jnp.int32), inf, jnp.asarray(n, jnp.int32))
    start, best_d, best_k = jax.lax.while_loop(cond, body, init)
    return best_k, best_d, start


# --------------------------------------------------------------------------------------------
# Public functions.
# --------------------------------------------------------------------------------------------


def _validate_x(x: Any, name: str = "evals") -> Array:
    x = as_float_array(x, name, allow_int=True)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {x.shape}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 values, got {x.shape[0]}")
    return x


def _eager_data_checks(x: Array, min_tail: int) -> None:
    arr = np.asarray(x)
    if not np.all(np.isfinite(arr)):
        bad = int(np.argmax(~np.isfinite(arr)))
        raise ValueError(
            f"evals contains NaN or Inf ({int(np.sum(~np.isfinite(arr)))} of {arr.size} values; "
            f"first at index {bad}: {arr[bad]!r})"
        )
    posv = arr[arr > 0]
    if posv.size < max(min_tail, 2):
        raise ValueError(
            f"evals has {posv.size} positive values; a power-law fit needs at least "
            f"{max(min_tail, 2)} (min_tail={min_tail}); non-positive values are ignored"
        )
    if np.all(posv == posv[0]):
        raise ValueError(f"x is constant (all positive values equal {posv[0]!r}); cannot fit")


def _check_options(ks, min_tail, xmin, xmax, xmin_range, alpha_max):
    check_choice(ks, "ks", KS_CONVENTIONS)
    min_tail = check_int(min_tail, "min_tail", ge=2)
    if xmin is not None:
        check_scalar(xmin, "xmin", gt=0.0)
    if xmax is not None:
        check_scalar(xmax, "xmax", gt=0.0, allow_inf=True)
        if xmin is not None and is_concrete(xmin) and is_concrete(xmax):
            if not float(np.asarray(xmax)) > float(np.asarray(xmin)):
                raise ValueError(f"xmax must be > xmin, got xmin={xmin!r}, xmax={xmax!r}")
    if xmin_range is not None:
        if xmin is not None:
            raise ValueError("give either xmin or xmin_range, not both")
        try:
            lo, hi = xmin_range
        except (TypeError, ValueError):
            raise ValueError(
                f"xmin_range must be a pair (lo, hi), got xmin_range={xmin_range!r}"
            ) from None
        check_scalar(lo, "xmin_range[0]")
        check_scalar(hi, "xmin_range[1]", allow_inf=True)
        if is_concrete(lo) and is_concrete(hi) and not float(hi) >= float(lo):
            raise ValueError(f"xmin_range must have lo <= hi, got xmin_range={xmin_range!r}")
    if alpha_max is not None:
        check_scalar(alpha_max, "alpha_max", gt=1.0, allow_inf=True)
    return min_tail


def _candidates(p: _Prep, alpha, conv, min_tail, xmin_range, alpha_max, dt):
    """Admissible candidate xmins. ``min_tail`` may be traced; ``xmin_range`` (a pair) and
    ``alpha_max`` are optional (``None``: no restriction; ``(-inf, inf)`` and ``inf`` give the
    same candidates)."""
    n = p.xs.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    valid = p.pos & p.first & (idx < p.hi) & (p.m >= min_tail) & (p.distinct >= 2) & conv
    valid = valid & jnp.isfinite(alpha)
    if xmin_range is not None:
        lo, hi = xmin_range
        valid = valid & (p.xs >= jnp.asarray(lo, dt)) & (p.xs <= jnp.asarray(hi, dt))
    if alpha_max is not None:
        valid = valid & (alpha < jnp.asarray(alpha_max, dt))
    return valid


def _traced_options(ks: str, min_tail: int) -> tuple[bool, np.ndarray]:
    """``ks`` as the static flag ``two_sided`` (the package's convention skips the right-limit
    term: a variant of its own, as fast as before) and ``min_tail`` as an array argument, so that
    other tail sizes do not recompile."""
    return ks == "two_sided", np.asarray(min_tail, np.int32)


def _fit_impl(x, xmin, xmax, two_sided, min_tail, xmin_range, alpha_max):
    """The fit as a traceable function. ``two_sided`` is a Python bool (the KS convention);
    ``min_tail`` may be traced; the result carries the default static ``ks``/``min_tail``,
    which the caller sets (:func:`_with_options`)."""
    dt = x.dtype
    n = x.shape[0]
    xmax_a = None if xmax is None else jnp.asarray(xmax, dt)
    p = _prepare(x, xmax_a)
    npos = jnp.sum(p.pos & (jnp.arange(n, dtype=jnp.int32) < p.hi)).astype(jnp.int32)
    posmax = p.xs[-1]
    posmin = jnp.min(jnp.where(p.pos, p.xs, jnp.asarray(jnp.inf, dt)))
    nan = jnp.asarray(jnp.nan, dt)
    inf = jnp.asarray(jnp.inf, dt)

    if xmin is None:
        alpha_all, sigma_all, conv = _alphas(p, xmax_a)
        valid = _candidates(p, alpha_all, conv, min_tail, xmin_range, alpha_max, dt)
        R = None if xmax_a is None else jnp.log(xmax_a) - p.L
        k, D, _ = _search(p, valid, alpha_all - 1, R, two_sided)
        found = k < n
        kk = jnp.minimum(k, n - 1)
        alpha, sigma = alpha_all[kk], sigma_all[kk]
        xmin_v = p.xs[kk]
        m = p.m[kk]
        T = p.T[kk]
        status = jnp.where(found, OK, NO_CANDIDATE)
    else:
        xmin_v = jnp.asarray(xmin, dt)
        k = jnp.searchsorted(p.xs, xmin_v, side="left").astype(jnp.int32)
        kk = jnp.minimum(k, n - 1)
        m = jnp.maximum(p.hi - k, 0)
        # Σ ln(x_i/xmin) over the tail = T_k + m ln(x_k/xmin)
        T = p.T[kk] + m.astype(dt) * (p.L[kk] - jnp.log(xmin_v))
        T = jnp.where(m > 0, T, jnp.zeros((), dt))
        mf = jnp.maximum(m, 1).astype(dt)
        if xmax_a is None:
            beta = mf / jnp.where(T > 0, T, jnp.ones((), dt))
            conv = T > 0
            sigma = beta / jnp.sqrt(mf)
            Rk = None
        else:
            Rk = jnp.log(xmax_a) - jnp.log(xmin_v)
            beta, conv = _truncated_beta(T / mf, Rk)
            sigma = 1 / jnp.sqrt(mf * _truncated_information(beta, Rk))
        alpha = 1 + beta
        # D of the tail with an xmin that need not be a data value: ECDF ranks from k.
        J = jnp.arange(n, dtype=jnp.int32)[None, :]
        valid_pts = (J >= k) & (J < p.hi)
        dL = p.L[None, :] - jnp.log(xmin_v)
        F = _fitted_cdf(dL, beta, Rk)
        Elo = (p.lo[None, :] - k).astype(dt) / mf
        zero = jnp.zeros((), dt)
        dplus = jnp.max(jnp.where(valid_pts, F - Elo, zero))
        Eminus = (p.up[None, :] - k).astype(dt) / mf if two_sided else Elo
        dminus = jnp.max(jnp.where(valid_pts, Eminus - F, zero))
        D = jnp.maximum(dplus, dminus)
        ndist = jnp.where(k < n, p.distinct[kk], 0)
        status = jnp.where(
            xmin_v > posmax,
            XMIN_ABOVE_DATA,
            jnp.where(
                (m < min_tail) | (ndist < 2),
                TOO_FEW_TAIL,
                jnp.where(conv, OK, NOT_CONVERGED),
            ),
        )
    loglik = _loglik(alpha, xmin_v, T, m, xmax_a)
    # data-level failures take precedence, in the order of the eager checks (a single positive
    # value is too few data, not constant data)
    status = jnp.where((npos >= 1) & (posmin == posmax), CONSTANT, status)
    status = jnp.where(npos < jnp.maximum(min_tail, 2), TOO_FEW_DATA, status)
    status = jnp.where(p.finite, status, NONFINITE).astype(jnp.int32)
    good = status == OK
    return PowerLawFit(
        alpha=jnp.where(good, alpha, nan),
        xmin=jnp.where(good, xmin_v, nan),
        xmax=inf if xmax_a is None else xmax_a,
        D=jnp.where(good, D, nan),
        sigma=jnp.where(good, sigma, nan),
        num_tail=jnp.where(good, m, 0).astype(jnp.int32),
        status=status,
        num_data=npos,
        loglik=jnp.where(good, loglik, nan),
    )


def _option(v: Any, dt: Any, absent: float | None = None) -> Any:
    """An optional scalar argument of a compiled fit: ``None`` stays ``None`` (or becomes
    ``absent``); concrete values go as host scalars (cheaper to pass than device arrays, and one
    kind of argument, so one compiled program); traced ones as they are."""
    if v is None:
        return None if absent is None else np.asarray(absent, dt)
    return np.asarray(v, dt) if is_concrete(v) else jnp.asarray(v, dt)


def _with_options(fit: PowerLawFit, ks: str, min_tail: int) -> PowerLawFit:
    """``fit`` with its static ``ks`` and ``min_tail`` fields set."""
    return dataclasses.replace(fit, ks=ks, min_tail=min_tail)


# ``xmin`` and ``xmax`` travel as ``None`` (an empty pytree) when absent: they change the
# algorithm, so each is its own trace, as is each KS convention (static ``two_sided``). The
# other options are array arguments (an absent ``xmin_range`` is ``(-inf, inf)``, an absent
# ``alpha_max`` is ``inf``: the same candidates), so that one program per length bucket, dtype,
# convention and xmin/xmax presence serves every ``min_tail``, range and ``alpha_max``.
@functools.partial(jax.jit, static_argnames=("two_sided",))
def _fit_jit(x, xmin, xmax, xmin_range, amax, two_sided, min_tail):
    return _fit_impl(x, xmin, xmax, two_sided, min_tail, xmin_range, amax)


@renamed_keyword(x="evals")
def powerlaw(
    evals: ArrayLike,
    *,
    xmin: ArrayLike | None = None,
    xmax: ArrayLike | None = None,
    ks: str = "two_sided",
    min_tail: int = 3,
    xmin_range: tuple[float, float] | None = None,
    alpha_max: float | None = None,
    throw: bool = True,
) -> PowerLawFit:
    r"""Fit a continuous power law ``p(x) ∝ x^(-α)`` to the tail ``x >= xmin`` of ``x``.

    Clauset–Shalizi–Newman: for each candidate ``xmin`` (every distinct positive data value) the
    MLE ``α̂ = 1 + n_tail / Σ ln(x_i/xmin)`` and the Kolmogorov–Smirnov distance ``D`` between the
    tail's empirical CDF and the fitted CDF ``1 - (x/xmin)^(1-α̂)``; ``xmin = argmin D`` (ties go
    to the smallest xmin). The search is exact (the same answer as trying every candidate on every
    point) but far from ``O(n²)``: see the module docstring.

    **KS convention** (``ks``). With the tail sorted, ``y_0 <= … <= y_{m-1}``, and the fitted CDF
    ``F``, ``D = max(D⁺, D⁻)`` with ``D⁺ = max_j F(y_j) - j/m``. The textbook two-sided statistic
    (``ks="two_sided"``, default) uses ``D⁻ = max_j (j+1)/m - F(y_j)`` (the ECDF's right limit);
    the ``powerlaw`` package (Alstott et al.) compares only the left limit,
    ``D⁻ = max_j j/m - F(y_j)`` (``ks="powerlaw"``), which is smaller by up to ``1/m``. With ties
    the ranks are those of the first (left limit) and last (right limit) tied point, as in the
    package.

    **Matching the** ``powerlaw`` **package** (v2.0, ``powerlaw.Fit(x)``): use ``ks="powerlaw"``
    and ``alpha_max=3``. Its defaults: candidate xmins are the distinct data values except the
    two largest (a tail of >= 3 distinct values; here ``min_tail=3`` points, the same for data
    without ties); it drops values <= 0 (as here); α is searched in ``(0, 3)``: an MLE above 3 is
    replaced by a bounded numerical fit that ends at 3 and is flagged, so such candidates are
    excluded from the xmin search and a tail with true α = 4 comes back as α ≈ 3 (``alpha_max=3``
    excludes those candidates here; without it, α is never clipped); an MLE in (1, 1.5] is
    polished by Nelder–Mead (tolerance 1e-4), so agreement there is to ~1e-4 only; with an
    ``xmax`` it fits α numerically (here: the exact truncated MLE). ``powerlaw.Fit`` reports
    ``sigma`` as ``(α-1)/√n`` like here. The Rust ``powerlawrs`` package uses the two-sided
    statistic (the default here gives its xmin and α) and reports ``α - 1``.

    Args:
        evals: 1-D real data (e.g. an ESD). Values <= 0 are ignored (an ESD's zero modes);
            ``num_data`` counts the rest.
        xmin: a given lower cut-off (need not be a data value); ``None``: chosen by minimum D.
        xmax: optional upper cut-off; data above it are dropped and α is the MLE of the power law
            truncated to ``[xmin, xmax]`` (normaliser ``1 - (xmax/xmin)^(1-α)``; α may be < 1).
        ks: ``"two_sided"`` or ``"powerlaw"`` (see above).
        min_tail: smallest tail (number of points) a candidate or given xmin may have (>= 2).
        xmin_range: ``(lo, hi)``: restrict the candidate xmin values to ``lo <= xmin <= hi``.
        alpha_max: exclude candidates whose α̂ is >= this (the package's clipping: 3).
        throw: raise when the fit fails (eagerly a ``ValueError``; under ``jit`` an
            ``equinox.error_if``). ``throw=False`` returns the result with ``status != 0``, NaN in
            the fields that are undefined, ``num_tail = 0``: check ``fit.ok``.

    Returns:
        :class:`PowerLawFit` with ``alpha, xmin, xmax, D, sigma, num_tail, status, num_data,
        loglik``; array fields have the dtype of ``x``.

    Raises:
        TypeError: complex/bool ``x``; bad option types.
        ValueError: ``x`` not 1-D or too short, NaN/Inf in ``x``, fewer than ``min_tail``
            positive values, constant data, bad options; with ``throw=True`` also a failed fit
            (too few tail points for the given xmin: the message says how many are needed; xmin
            above the data; no admissible candidate).

    Example:
        >>> import jax, htrmt as ht
        >>> u = jax.random.uniform(jax.random.key(0), (2000,))
        >>> fit = ht.fit.powerlaw((1 - u) ** (-1 / 1.5))   # Pareto, α = 2.5, xmin = 1
        >>> bool(fit.ok), round(float(fit.alpha), 1)
        (True, 2.5)

    References:
        A. Clauset, C. R. Shalizi, M. E. J. Newman, "Power-law distributions in empirical data",
        SIAM Review 51(4), 661–703 (2009), Sec. 3 (Eq. 3.1, 3.2 for α̂ and σ; Eq. 3.9 for D).
        J. Alstott, E. Bullmore, D. Plenz, "powerlaw: a Python package for analysis of heavy-tailed
        distributions", PLoS ONE 9(1), e85777 (2014).
    """
    x = _validate_x(evals)
    min_tail = _check_options(ks, min_tail, xmin, xmax, xmin_range, alpha_max)
    throw = check_bool(throw, "throw")
    if is_concrete(x):
        _eager_data_checks(x, min_tail)
    dt = x.dtype

    lo, hi = (-np.inf, np.inf) if xmin_range is None else xmin_range
    fit = _fit_jit(
        _pad_to_bucket(x),
        _option(xmin, dt),
        _option(xmax, dt),
        (_option(lo, dt), _option(hi, dt)),
        _option(alpha_max, dt, absent=np.inf),
        *_traced_options(ks, min_tail),
    )
    fit = _with_options(fit, ks, min_tail)
    if throw:
        fit = _throw(fit)
    return fit


def _pad_to_bucket(x: Array) -> Array:
    n = x.shape[0]
    b = bucket_size(n)
    return x if b == n else jnp.concatenate([x, jnp.zeros((b - n,), x.dtype)])


def _throw(fit: PowerLawFit) -> PowerLawFit:
    return raise_if_failed(fit, "power-law fit", guard="alpha")


@renamed_keyword(x="evals")
def powerlaw_scan(
    evals: ArrayLike,
    *,
    xmax: ArrayLike | None = None,
    ks: str = "two_sided",
    min_tail: int = 3,
    num_xmin: int | None = None,
) -> PowerLawScan:
    """α̂, D and σ as functions of xmin: the data behind a "robustness" plot of a fit.

    Every candidate of :func:`powerlaw` (distinct positive values with a tail of at least
    ``min_tail`` points), or ``num_xmin`` of them evenly spaced in rank, evaluated exactly
    (``O(n)`` per candidate). ``powerlaw(x).xmin`` is the ``argmin`` of ``D`` over the valid
    candidates when all are scanned.

    Args:
        evals: 1-D real data; values <= 0 are ignored.
        xmax: optional upper cut-off (truncated MLE, as in :func:`powerlaw`).
        ks: KS convention, ``"two_sided"`` or ``"powerlaw"``.
        min_tail: smallest tail size of a valid candidate.
        num_xmin: scan only this many candidate ranks (evenly spaced from the smallest positive
            value to the largest admissible one); ``None``: all ``n`` ranks.

    Returns:
        :class:`PowerLawScan` with arrays of length ``n`` (or ``num_xmin``); ``valid`` marks the
        admissible candidates (ties other than the first of a run are not valid).

    Raises:
        ValueError: as :func:`powerlaw` for bad data or options.

    Example:
        >>> import jax, htrmt as ht
        >>> u = jax.random.uniform(jax.random.key(0), (500,))
        >>> scan = ht.fit.powerlaw_scan((1 - u) ** (-1 / 1.5))
        >>> scan.alpha.shape
        (500,)
    """
    x = _validate_x(evals)
    min_tail = _check_options(ks, min_tail, None, xmax, None, None)
    if num_xmin is not None:
        num_xmin = check_int(num_xmin, "num_xmin", ge=1)
    if is_concrete(x):
        _eager_data_checks(x, min_tail)
    return _scan_jit(
        x,
        None if xmax is None else jnp.asarray(xmax, x.dtype),
        *_traced_options(ks, min_tail),
        num_xmin=num_xmin,
    )


@functools.partial(jax.jit, static_argnames=("two_sided", "num_xmin"))
def _scan_jit(x, xmax_a, two_sided, min_tail, *, num_xmin):
    dt = x.dtype
    n = x.shape[0]
    p = _prepare(x, xmax_a)
    alpha, sigma, conv = _alphas(p, xmax_a)
    valid = _candidates(p, alpha, conv, min_tail, None, None, dt)
    if num_xmin is None:
        K = jnp.arange(n, dtype=jnp.int32)
    else:
        first_pos = jnp.argmax(p.pos).astype(jnp.int32)
        last = jnp.maximum(p.hi - min_tail, first_pos)
        t = jnp.linspace(0.0, 1.0, num_xmin, dtype=dt)
        K = jnp.round(first_pos.astype(dt) + t * (last - first_pos).astype(dt)).astype(jnp.int32)
        K = p.lo[jnp.clip(K, 0, n - 1)]  # first of a run of ties
    R = None if xmax_a is None else jnp.log(xmax_a) - p.L
    C = _chunk_size(n)
    D = jax.lax.map(
        lambda k: _dist_full(
            p, k[None], alpha[k][None] - 1, None if R is None else R[k][None], two_sided
        )[0],
        K,
        batch_size=C,
    )
    v = valid[K]
    return PowerLawScan(
        xmin=p.xs[K],
        alpha=alpha[K],
        D=jnp.where(v, D, jnp.asarray(jnp.inf, dt)),
        sigma=sigma[K],
        num_tail=p.m[K].astype(jnp.int32),
        valid=v,
    )


# --------------------------------------------------------------------------------------------
# Credibility of a fit: a fit that was *made* (status 0) can still be one nobody should read.
# --------------------------------------------------------------------------------------------

#: credibility verdicts of :func:`credibility`, in the order they are checked
CREDIBILITY = ("ok", "failed", "tail-too-small", "poor-fit", "xmin-at-bound", "alpha-at-bound")

#: asymptotic Kolmogorov quantile ``c`` with ``P(√m·D > c) = level`` for the default level 1e-3
_KS_C_1E3 = 1.9495


def ks_threshold(num_tail: int, level: float = 1e-3) -> float:
    """The D above which a tail of ``num_tail`` points is not credibly a power law.

    ``c(level)/√m``, ``c`` the upper ``level`` quantile of the Kolmogorov distribution
    (``scipy.special.kolmogi``; 1.95 at the default 1e-3). For a fitted tail whose xmin was
    chosen by minimising D this is conservative: a true power law exceeds it far less often than
    ``level``, so a fit above it is broken, not unlucky.

    Example:
        >>> round(ks_threshold(100), 4)
        0.195
    """
    m = int(num_tail)
    if m < 1:
        return 0.0
    if level == 1e-3:
        c = _KS_C_1E3
    else:
        from scipy.special import kolmogi

        c = float(kolmogi(level))
    return c / math.sqrt(m)


def credibility(
    fit: PowerLawFit,
    *,
    min_tail: int | None = None,
    level: float = 1e-3,
    alpha_max: float | None = None,
    num_candidates: int | None = None,
) -> tuple[str, str]:
    """Whether a concrete (unbatched) power-law fit can be read, and if not, why.

    Checks, in order: the fit was made (``status == 0``); its tail has at least ``min_tail``
    points (default: the fit's own); ``D <= ks_threshold(num_tail, level)`` (:func:`ks_threshold`);
    the xmin search did not end at the smallest allowed tail (``num_tail == min_tail`` when the
    xmin was searched: the minimum of D was not found inside the range); α is not at the search
    bound ``alpha_max`` (within 1e-6 relative).

    Args:
        fit: a :class:`PowerLawFit` with 0-d fields.
        min_tail: the smallest credible tail (default: ``fit.min_tail``).
        level: the KS level of the D threshold.
        alpha_max: an upper search bound on α, when the fit had one.
        num_candidates: the number of admissible xmin candidates, when known (a search over one
            candidate has no interior: ``xmin-at-bound`` is not reported then).

    Returns:
        ``(verdict, reason)``: verdict one of :data:`CREDIBILITY` (``"ok"`` when every check
        passes), reason a sentence for a report ("" when ok).

    Example:
        >>> import jax, htrmt as ht
        >>> u = jax.random.uniform(jax.random.key(0), (2000,))
        >>> ht.fit.credibility(ht.fit.powerlaw((1 - u) ** (-1 / 1.5)))
        ('ok', '')
    """
    if np.asarray(fit.status).ndim:
        raise ValueError(
            f"credibility needs one fit, got a batch of shape {np.asarray(fit.status).shape}"
        )
    if int(fit.status) != OK:
        return "failed", fit.message
    mt = fit.min_tail if min_tail is None else int(min_tail)
    m = int(fit.num_tail)
    D = float(fit.D)
    alpha = float(fit.alpha)
    if m < mt:
        return "tail-too-small", f"tail of {m} points < min_tail={mt}"
    thr = ks_threshold(m, level)
    if not D <= thr:
        return (
            "poor-fit",
            f"KS distance D = {D:.3g} > {thr:.3g} (the level-{level:g} threshold for a tail of "
            f"{m}): the tail is not a power law",
        )
    if m == fit.min_tail and (num_candidates is None or num_candidates > 1):
        return (
            "xmin-at-bound",
            f"the xmin search ended at the smallest allowed tail ({m} points): no interior "
            "minimum of D",
        )
    if alpha_max is not None and math.isfinite(alpha_max) and alpha >= alpha_max * (1 - 1e-6):
        return "alpha-at-bound", f"alpha = {alpha:.4g} at the search bound {alpha_max:g}"
    return "ok", ""
