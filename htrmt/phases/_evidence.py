"""The classifier's evidence and verdict as a JAX function of a fixed-size spectrum.

:func:`evidence` computes every feature :func:`htrmt.phases.classify` reads (the null
cluster, the Marchenko–Pastur bulk fit by :func:`htrmt.fit.marchenko_pastur_jit`, the outliers,
their spacings in TW scales, ``λ_max/λ+``) and applies the same decision list, with array
operations only: it runs under ``jit`` and ``vmap`` (the phases of a batch of same-size layers in
one call). The verdict is ``phase_index`` into :data:`PHASES`; ``.phase`` names it when
concrete. ``classify`` remains the host form that also returns the fits as objects, the rule
that fired in words, and the optional power-law fit; on the same spectrum both give the same
verdict and the same numbers (tested).
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Bool, Float, Int

from .._checks import as_float_array, check_finite, check_scalar, is_concrete
from .._status import Status, first_failure
from ..ensembles._phases import PHASES
from ..fit._marchenko_pastur import MIN_EIGENVALUES, tw1_quantile
from ..fit._marchenko_pastur_jit import MarchenkoPasturBulk, _fit
from ._classify import PhaseThresholds

__all__ = ["PhaseEvidence", "evidence"]

_IDX = {p: i for i, p in enumerate(PHASES)}


class PhaseEvidence(eqx.Module):
    """Result of :func:`evidence` (arrays; a leading batch axis under ``vmap``).

    Attributes:
        phase_index: the verdict, an index into :data:`PHASES` (``.phase`` names it).
        num_null, null_gap_decades, num_outliers, outlier_fraction, num_separated,
            num_leaking, max_gap, lambda_max, ratio, D_bulk: as in
            :class:`htrmt.phases.PhaseResult`.
        lambda_plus: the fitted bulk edge (NaN when no bulk fit could be made).
        mp: the :class:`htrmt.fit.MarchenkoPasturBulk` fit of the non-null eigenvalues.
        status: ``OK``; ``NOT_CONVERGED`` when the bulk fit did not converge; ``TOO_FEW_DATA``
            when no bulk fit could be made and there is no null cluster; ``NONFINITE``.
    """

    phase_index: Int[Array, "*b"]
    num_null: Int[Array, "*b"]
    null_gap_decades: Float[Array, "*b"]
    num_outliers: Int[Array, "*b"]
    outlier_fraction: Float[Array, "*b"]
    num_separated: Int[Array, "*b"]
    num_leaking: Int[Array, "*b"]
    max_gap: Float[Array, "*b"]
    lambda_max: Float[Array, "*b"]
    lambda_plus: Float[Array, "*b"]
    ratio: Float[Array, "*b"]
    D_bulk: Float[Array, "*b"]
    mp: MarchenkoPasturBulk
    status: Int[Array, "*b"]

    @property
    def phase(self) -> Any:
        """The verdict's name (a list of names for a batch); concrete results only."""
        idx = np.asarray(self.phase_index)
        if idx.ndim == 0:
            return PHASES[int(idx)]
        return [PHASES[int(i)] for i in idx.ravel()]

    @property
    def ok(self) -> Bool[Array, "*b"]:
        return self.status == Status.OK

    @property
    def message(self) -> str:
        return first_failure(self.status).message


def _null_cluster(lam: Array, th: PhaseThresholds, tol: Array) -> tuple[Array, Array]:
    """The host rule (``_classify._null_cluster``) in array form; ``lam`` sorted, >= 0."""
    M = lam.shape[0]
    top = lam[-1]
    # log10 of the floor top·1e-300 in log space (representable in every float dtype)
    lfloor = jnp.log10(jnp.where(top > 0, top, 1.0)) - 300.0
    noise = lam <= tol
    lg = jnp.where(noise | (lam <= 0), lfloor, jnp.log10(jnp.where(lam > 0, lam, 1.0)))
    lg = jnp.maximum(lg, lfloor)
    lo = max(1, math.ceil(th.collapse_window[0] * M))
    hi = min(M - 1, math.floor(th.collapse_window[1] * M))
    if hi < lo:
        return jnp.int32(0), jnp.zeros((), lam.dtype)
    gaps = lg[lo : hi + 1] - lg[lo - 1 : hi]
    j = jnp.argmax(gaps)
    g = gaps[j]
    below = lo + j.astype(jnp.int32)
    hit = (g >= th.collapse_decades) & (below.astype(lam.dtype) >= th.collapse_fraction * M)
    return jnp.where(hit, below, 0).astype(jnp.int32), g


def _evidence(x: Array, Q: Array, th: PhaseThresholds, c_val: float) -> PhaseEvidence:
    dt = x.dtype
    M = x.shape[0]
    finite = jnp.all(jnp.isfinite(x))
    lam = jnp.maximum(jnp.sort(jnp.where(jnp.isfinite(x), x, 0)), 0.0)
    top = lam[-1]
    eps = jnp.finfo(dt).eps
    roundoff = M * eps * top
    num_null, null_gap = _null_cluster(lam, th, roundoff)
    zero_tol = jnp.where(
        num_null > 0, jnp.maximum(lam[jnp.maximum(num_null - 1, 0)], roundoff), roundoff
    )
    mp = _fit(lam, Q, zero_tol, method="ks", rule="tw", c_val=c_val, max_iter=50)
    have_mp = (mp.status != Status.TOO_FEW_DATA) & (mp.status != Status.NONFINITE)
    idx = jnp.arange(M, dtype=jnp.int32)
    spike = (lam > zero_tol) & (lam > mp.threshold)
    num_out = jnp.where(have_mp, jnp.sum(spike, dtype=jnp.int32), 0).astype(jnp.int32)
    first = M - num_out  # the outliers are the top num_out of the sorted spectrum
    has_bulk = mp.num_bulk > 0
    bulk_top = jnp.where(has_bulk, lam[jnp.clip(first - 1, 0, M - 1)], mp.lambda_plus)
    prev = jnp.where(idx == first, bulk_top, jnp.concatenate([lam[:1], lam[:-1]]))
    s = mp.tw_scale
    gaps = jnp.where(s > 0, (lam - prev) / jnp.where(s > 0, s, 1.0), 0.0)
    is_out = idx >= first
    big = is_out & (gaps >= th.separation)
    first_big = jnp.argmax(big).astype(jnp.int32) - first
    num_leak = jnp.where(jnp.any(big), first_big, num_out).astype(jnp.int32)
    num_sep = (num_out - num_leak).astype(jnp.int32)
    max_gap = jnp.where(num_out > 0, jnp.max(jnp.where(is_out, gaps, -jnp.inf)), 0.0)
    ratio = top / mp.lambda_plus
    frac = num_out.astype(dt) / M
    max_spikes = max(th.max_spikes_min, math.ceil(th.max_spikes_fraction * M))
    nan = jnp.asarray(jnp.nan, dt)
    max_gap = jnp.where(have_mp, max_gap, nan)
    ratio = jnp.where(have_mp, ratio, nan)

    spikes_rule = (num_sep >= 1) & (num_leak <= th.max_leak) & (num_sep <= max_spikes)
    ht_rule = (
        (max_gap >= th.ht_gap)
        | (ratio >= th.ht_ratio)
        | ((ratio >= th.decay_ratio) & (frac < th.decay_fraction))
    )
    phase = jnp.select(
        [
            num_null > 0,
            ~have_mp,
            num_out == 0,
            spikes_rule,
            ht_rule,
            frac >= th.decay_fraction,
        ],
        [
            _IDX["rank-collapse"],
            _IDX["rank-collapse"],
            _IDX["random-like"],
            _IDX["bulk+spikes"],
            _IDX["heavy-tailed"],
            _IDX["bulk-decay"],
        ],
        _IDX["bleeding-out"],
    ).astype(jnp.int32)
    status = jnp.where(
        ~finite,
        Status.NONFINITE,
        jnp.where(
            ~have_mp,
            jnp.where(num_null > 0, Status.OK, Status.TOO_FEW_DATA),
            jnp.where(mp.status == Status.NOT_CONVERGED, Status.NOT_CONVERGED, Status.OK),
        ),
    ).astype(jnp.int32)
    return PhaseEvidence(
        phase_index=phase,
        num_null=num_null,
        null_gap_decades=null_gap.astype(dt),
        num_outliers=num_out,
        outlier_fraction=frac,
        num_separated=jnp.where(have_mp, num_sep, 0).astype(jnp.int32),
        num_leaking=jnp.where(have_mp, num_leak, 0).astype(jnp.int32),
        max_gap=max_gap,
        lambda_max=top,
        lambda_plus=jnp.where(have_mp, mp.lambda_plus, nan),
        ratio=ratio,
        D_bulk=jnp.where(have_mp, mp.D_bulk, nan),
        mp=mp,
        status=status,
    )


_evidence_jit = jax.jit(_evidence, static_argnames=("th", "c_val"))


def evidence(
    evals: Float[ArrayLike, " m"],
    Q: ArrayLike,
    *,
    thresholds: PhaseThresholds | None = None,
) -> PhaseEvidence:
    """The 5+1-phase verdict and its evidence, as arrays: works under ``jit`` and ``vmap``.

    The same features and decision list as :func:`htrmt.phases.classify` (read it for the
    rules), computed with array operations so that it composes with a jitted program and
    batches over same-size spectra: ``jax.vmap(lambda e: evidence(e, Q))(spectra)``. Under
    ``jit`` bad data cannot raise: NaN/Inf give status ``NONFINITE``; negative values are
    clipped at 0 (concrete data are checked as in ``classify``, except that a negative value
    beyond round-off is clipped, not refused).

    Args:
        evals: 1-D eigenvalues of ``WᵀW/N`` (any order), at least 8.
        Q: aspect ratio ``N/M >= 1`` (may be traced).
        thresholds: a :class:`PhaseThresholds` (default: the calibrated ones).

    Returns:
        A :class:`PhaseEvidence`; ``.phase`` (concrete) or ``PHASES[phase_index]`` is the
        verdict.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.gaussian(jax.random.key(0), (1000, 500)))
        >>> jax.jit(ht.phases.evidence)(lam, 2.0).phase
        'random-like'
    """
    th = PhaseThresholds() if thresholds is None else thresholds
    if not isinstance(th, PhaseThresholds):
        raise TypeError(f"thresholds must be a PhaseThresholds, got {type(th).__name__}")
    x = as_float_array(evals, "evals")
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D (one spectrum), got shape {x.shape}")
    if x.shape[0] < MIN_EIGENVALUES:
        raise ValueError(
            f"evals has {x.shape[0]} eigenvalues; classification needs at least "
            f"{MIN_EIGENVALUES}"
        )
    if is_concrete(Q):
        check_scalar(Q, "Q", ge=1.0)
    if is_concrete(x):
        check_finite(x, "evals")
        if not float(jnp.max(x)) > 0:
            raise ValueError(f"evals has no positive eigenvalue (largest {float(jnp.max(x))!r})")
    return _evidence_jit(x, jnp.asarray(Q, x.dtype), th, tw1_quantile(th.tw_quantile))
