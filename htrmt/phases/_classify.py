"""The 5+1 phase classifier: a verdict on an ESD with the evidence behind it.

The phases (Martin & Mahoney 2021, Table 2) are named in THEORY.md §5; this module makes them
operational with a short decision list over a few scale-free features of the spectrum, each
computed from the Marchenko–Pastur bulk fit (:func:`htrmt.fit.marchenko_pastur`):

1. **rank-collapse**: a cluster of at least ``collapse_fraction`` (10%) of the eigenvalues lies
   at least ``collapse_decades`` (3) decades below the rest: the largest gap in ``log10 λ``
   between consecutive eigenvalues, searched with its lower end between the 10% and 98% points
   of the spectrum (an MP spectrum with Q = 1 has a hard edge at 0, but no such gap).
   Eigenvalues at round-off level (``|λ| <= M·eps·λ_max``, of either sign: a rank-deficient
   float32 layer gives about as many round-off negatives as positives) are one null cluster,
   and the bulk fit sets them aside in any case (they are not bulk eigenvalues).
2. **random-like**: no outlier, i.e. no eigenvalue above ``λ+ + c·s`` (c = TW1 99% quantile,
   s the Tracy–Widom scale): λ_max within TW of λ+.
3. **bulk+spikes**: walking up from the largest bulk eigenvalue through the outliers, the first
   spacing of at least ``separation`` (20) TW scales comes after at most ``max_leak`` (2)
   outliers, and no more than ``max_spikes`` (``max(10, 2% of M)``) outliers lie above it: a few
   spikes well separated from an MP bulk.
4. **heavy-tailed**: the largest spacing among the outliers is at least ``ht_gap`` (60) TW scales
   (Fréchet-like extreme values, no edge), or ``λ_max/λ+ >= ht_ratio`` (10), or a long thin
   tail: ``λ_max/λ+ >= decay_ratio`` (1.6) carried by under ``decay_fraction`` (6%) of the
   spectrum.
5. **bulk-decay**: at least ``decay_fraction`` (6%) of the spectrum above the threshold: heavy
   mass above λ+, the upper bulk no longer MP, a soft end.
6. **bleeding-out**: otherwise: a small mass (under 6%) leaking just past λ+
   (``λ_max/λ+ < 1.6``) without a gap.

The thresholds were chosen on the examples of :func:`htrmt.ensembles.phase_example` at
M = 500 and 1000, Q ∈ {1, 2, 4}, where the features of adjacent phases are separated by a factor
of 2 or more (outlier fraction: bleeding-out 1–2.4%, bulk-decay 9–23%; λ_max/λ+: bleeding-out
≤ 1.3, bulk-decay 2.2–4.2; largest outlier spacing in TW scales s: bleeding-out ≤ 9,
bulk-decay 10–31 with rare values above 40, bulk+spikes ≥ 74, heavy-tailed ≥ 56 at M = 500 and
≥ 330 at M = 1000; the heavy-tailed examples below 60 s are long thin tails, λ_max/λ+ ≥ 2.4 with
under 5% of the spectrum). Held-out check (:func:`confusion_matrix`, 20 matrices per phase and
shape, shapes 500×500, 1000×500, 2000×500, 1000×1000, 2000×1000, float64): 97–100% per phase;
the errors are random-like matrices with one TW fluctuation past the 99% margin.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import equinox as eqx
import numpy as np
from jaxtyping import ArrayLike, Float

from .._checks import as_float_numpy, check_bool, check_finite, check_scalar, require_host
from .._status import Status, raise_if_failed
from ..ensembles._phases import PHASES

__all__ = ["PHASES", "PhaseThresholds", "PhaseResult", "classify"]


@dataclasses.dataclass(frozen=True)
class PhaseThresholds:
    """The operational thresholds of :func:`classify` (see the module docstring).

    Attributes:
        collapse_decades: smallest gap in ``log10 λ`` that separates a null cluster.
        collapse_fraction: smallest fraction of eigenvalues below that gap.
        collapse_window: fractions of M between which the gap's lower end is searched.
        separation: spacing, in TW scales s, that separates a spike from what lies below it.
        max_leak: outliers allowed between the bulk and the first separated spike.
        max_spikes_fraction, max_spikes_min: at most ``max(max_spikes_min,
            ceil(max_spikes_fraction·M))`` separated spikes make "bulk+spikes".
        ht_gap: an outlier spacing of this many TW scales makes "heavy-tailed".
        ht_ratio: ``λ_max/λ+`` at or above this makes "heavy-tailed".
        decay_ratio: ``λ_max/λ+`` at or above this, with an outlier fraction under
            ``decay_fraction``, makes "heavy-tailed"; below it with that small a fraction,
            "bleeding-out".
        decay_fraction: an outlier fraction at or above this makes "bulk-decay".
        tw_quantile: TW1 quantile of the spike margin ``λ+ + c·s``.
    """

    collapse_decades: float = 3.0
    collapse_fraction: float = 0.1
    collapse_window: tuple[float, float] = (0.1, 0.98)
    separation: float = 20.0
    max_leak: int = 2
    max_spikes_fraction: float = 0.02
    max_spikes_min: int = 10
    ht_gap: float = 60.0
    ht_ratio: float = 10.0
    decay_ratio: float = 1.6
    decay_fraction: float = 0.06
    tw_quantile: float = 0.99


class PhaseResult(eqx.Module):
    """The verdict of :func:`classify` and its evidence.

    Attributes:
        phase: one of :data:`PHASES`.
        reason: the rule that fired, in words, with the numbers.
        mp: the Marchenko–Pastur fit of the non-null eigenvalues (``None`` if it could not be
            made, e.g. fewer than 8 non-null eigenvalues).
        powerlaw: the power-law fit of the ESD tail (``htrmt.fit.powerlaw``, ``throw=False``;
            ``None`` if it could not be made).
        M: number of eigenvalues.
        Q: aspect ratio used.
        num_null: eigenvalues in the null cluster (0 when there is none; round-off values of
            either sign count as null).
        null_gap_decades: the largest ``log10 λ`` gap found in the collapse window.
        num_outliers: eigenvalues above the spike threshold ``λ+ + c·s``.
        outlier_fraction: ``num_outliers / M``.
        num_separated: outliers above the first spacing of ``separation`` TW scales.
        num_leaking: outliers below that spacing (all outliers when there is none).
        max_gap: the largest spacing from the largest bulk eigenvalue up through the outliers,
            in TW scales.
        lambda_max: the largest eigenvalue.
        ratio: ``λ_max/λ+``.
        D_bulk: KS distance of the bulk to MP.
        thresholds: the :class:`PhaseThresholds` used.
        status: :class:`htrmt.Status`: ``OK`` when the verdict rests on its evidence;
            ``NOT_CONVERGED`` when the bulk fit did not converge, ``TOO_FEW_DATA`` when no bulk
            fit could be made and there is no null cluster (the verdict is then a default).
            ``.ok`` and ``.message`` read it.
    """

    phase: str = eqx.field(static=True)
    reason: str = eqx.field(static=True)
    mp: Any
    powerlaw: Any
    M: int
    Q: float
    num_null: int
    null_gap_decades: float
    num_outliers: int
    outlier_fraction: float
    num_separated: int
    num_leaking: int
    max_gap: float
    lambda_max: float
    ratio: float
    D_bulk: float
    thresholds: PhaseThresholds = eqx.field(static=True, repr=False)
    status: Status = eqx.field(static=True, default=Status.OK)

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def message(self) -> str:
        return self.status.message


def _null_cluster(lam: np.ndarray, th: PhaseThresholds, tol: float) -> tuple[int, float]:
    """Size of the null cluster (0 if none) and the largest log-gap in the window.

    ``lam`` is sorted and clipped at 0; values ``<= tol`` (the round-off level) are numerically
    zero whatever their sign was, so they are one cluster at zero: they all take the log floor,
    so there is no gap inside the cluster (not the ~300 decades between a clipped round-off
    negative and a positive round-off value), and the gap above it is as wide as it really is
    (a zero is infinitely many decades below the rest, whatever the round-off left of it).
    """
    M = lam.size
    top = lam[-1]
    floor = top * 1e-300 if top > 0 else 1e-300
    noise = lam <= tol
    if np.any(noise):
        lam = np.where(noise, floor, lam)
    lg = np.log10(np.maximum(lam, floor))
    lo = max(1, math.ceil(th.collapse_window[0] * M))
    hi = min(M - 1, math.floor(th.collapse_window[1] * M))
    if hi < lo:
        return 0, 0.0
    # gap between lam[i-1] and lam[i]: i - 1 is the cluster's last index, so i eigenvalues below.
    gaps = lg[lo : hi + 1] - lg[lo - 1 : hi]
    j = int(np.argmax(gaps))
    g = float(gaps[j])
    below = lo + j
    if g >= th.collapse_decades and below >= th.collapse_fraction * M:
        return below, g
    return 0, g


def classify(
    evals: Float[ArrayLike, " m"],
    Q: float,
    *,
    thresholds: PhaseThresholds | None = None,
    fit_powerlaw: bool = True,
    throw: bool = False,
) -> PhaseResult:
    """Classify an ESD into one of the 5+1 phases of training, with the evidence.

    The decision list (first match wins; thresholds in :class:`PhaseThresholds`):

    1. rank-collapse: >= 10% of the eigenvalues >= 3 decades below the rest;
    2. random-like: no eigenvalue above ``λ+ + c·s`` (MP fit, c = TW1 0.99 quantile = 2.02);
    3. bulk+spikes: at most ``max(10, 2% of M)`` spikes separated from the bulk by a spacing of
       >= 20 TW scales, at most 2 outliers below that spacing;
    4. heavy-tailed: an outlier spacing >= 60 TW scales, or ``λ_max/λ+ >= 10``, or
       ``λ_max/λ+ >= 1.6`` with under 6% of the spectrum above the threshold (a long thin tail);
    5. bulk-decay: >= 6% of the spectrum above the threshold;
    6. bleeding-out: the rest (under 6% just past λ+, ``λ_max/λ+ < 1.6``, no gap).

    All features are invariant to rescaling the eigenvalues, so ``normalization="none"``
    spectra classify the same (pass the same Q).

    Args:
        evals: 1-D eigenvalues of ``WᵀW/N`` (any order).
        Q: aspect ratio ``N/M >= 1``.
        thresholds: a :class:`PhaseThresholds` (default: the calibrated ones).
        fit_powerlaw: also fit a power law to the tail (reported as evidence only).
        throw: raise a ``ValueError`` (with the message) when ``status`` is not ``OK``.
            Default ``False``: check ``result.ok``.

    Returns:
        A :class:`PhaseResult`; ``.phase`` is the verdict.

    Raises:
        TypeError: called under ``jit``/``vmap``/``grad`` (it runs on the host, NumPy).
        TypeError: non-float ``evals``.
        ValueError: ``evals`` not 1-D, with fewer than 8 values, NaN/Inf, negative beyond
            round-off or all zero; ``Q < 1``.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.gaussian(jax.random.key(0), (1000, 500)))
        >>> ht.phases.classify(lam, 2.0).phase
        'random-like'

    References:
        Martin & Mahoney (2021), JMLR 22(165), Sec. 5, Table 2 and Fig. 12 (the 5+1 phases).
    """
    from ..fit import marchenko_pastur as fit_mp
    from ..fit._marchenko_pastur import MIN_EIGENVALUES

    th = PhaseThresholds() if thresholds is None else thresholds
    if not isinstance(th, PhaseThresholds):
        raise TypeError(f"thresholds must be a PhaseThresholds, got {type(th).__name__}")
    require_host("htrmt.phases.classify", evals, Q, hint="htrmt.phases.evidence")
    throw = check_bool(throw, "throw")
    check_bool(fit_powerlaw, "fit_powerlaw")
    check_scalar(Q, "Q", ge=1.0)
    x = check_finite(as_float_numpy(evals, "evals"), "evals")
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D (one spectrum), got shape {x.shape}")
    lam = np.sort(np.asarray(x, dtype=np.float64))
    M = lam.size
    if M < MIN_EIGENVALUES:
        raise ValueError(
            f"evals has {M} eigenvalues; classification needs at least {MIN_EIGENVALUES}"
        )
    top = float(lam[-1])
    if top <= 0.0:
        raise ValueError(f"evals has no positive eigenvalue (largest {top!r})")
    eps = float(np.finfo(np.dtype(x.dtype)).eps)
    if lam[0] < -max(M * eps, 100 * eps) * top:
        raise ValueError(f"evals has a negative value {lam[0]!r} beyond round-off")
    lam = np.maximum(lam, 0.0)
    Q = float(Q)

    # the round-off level of eigvalsh on the Gram matrix: the bulk fit's default zero_tol
    roundoff = M * eps * top
    num_null, null_gap = _null_cluster(lam, th, roundoff)
    # null: the collapsed cluster, and in any case everything at round-off level (of either
    # sign; a positive round-off value is no more a bulk eigenvalue than a negative one)
    zero_tol = max(float(lam[num_null - 1]), roundoff) if num_null else roundoff

    mp = None
    try:
        mp = fit_mp(lam.astype(np.dtype(x.dtype)), Q, tw_quantile=th.tw_quantile, zero_tol=zero_tol)
    except ValueError:
        mp = None
    pl = None
    if fit_powerlaw:
        from ..fit import powerlaw as fit_pl

        try:
            pl = fit_pl(lam[num_null:].astype(np.dtype(x.dtype)), throw=False)
        except ValueError:
            pl = None

    if mp is not None:
        lam_plus = mp.lambda_plus
        s = mp.tw_scale
        spikes = np.asarray(mp.spikes, dtype=np.float64)
        num_out = int(spikes.size)
        bulk = lam[(lam > mp.zero_tol) & (lam <= mp.threshold)]
        bulk_top = float(bulk[-1]) if bulk.size else lam_plus
        chain = np.concatenate([[bulk_top], spikes])
        gaps = np.diff(chain) / s if s > 0 else np.zeros(num_out)
        big = np.flatnonzero(gaps >= th.separation)
        num_leak = int(big[0]) if big.size else num_out
        num_sep = num_out - num_leak
        max_gap = float(gaps.max()) if gaps.size else 0.0
        ratio = top / lam_plus
        d_bulk = mp.D_bulk
    else:
        lam_plus = math.nan
        num_out = num_leak = num_sep = 0
        max_gap = ratio = d_bulk = math.nan
    frac = num_out / M
    max_spikes = max(th.max_spikes_min, math.ceil(th.max_spikes_fraction * M))

    if num_null:
        phase = "rank-collapse"
        reason = (
            f"{num_null} of {M} eigenvalues ({num_null / M:.0%}) lie {null_gap:.1f} decades below "
            f"the rest (>= {th.collapse_decades} decades, >= {th.collapse_fraction:.0%} of M)"
        )
    elif mp is None:
        phase = "rank-collapse"
        reason = "too few non-null eigenvalues for a Marchenko–Pastur bulk fit"
    elif num_out == 0:
        phase = "random-like"
        reason = (
            f"no eigenvalue above λ+ + c·s = {mp.threshold:.4g} (c = {mp.c:.3f}); "
            f"λ_max/λ+ = {ratio:.3f}, bulk KS D = {d_bulk:.3f}"
        )
    elif num_sep >= 1 and num_leak <= th.max_leak and num_sep <= max_spikes:
        phase = "bulk+spikes"
        reason = (
            f"{num_sep} spike(s) separated from the bulk by >= {th.separation} TW scales "
            f"(largest spacing {max_gap:.1f} s), {num_leak} outlier(s) below them"
        )
    elif (
        max_gap >= th.ht_gap
        or ratio >= th.ht_ratio
        or (ratio >= th.decay_ratio and frac < th.decay_fraction)
    ):
        phase = "heavy-tailed"
        reason = (
            f"outlier spacing up to {max_gap:.1f} TW scales (ht_gap {th.ht_gap}), "
            f"λ_max/λ+ = {ratio:.3g} (ht_ratio {th.ht_ratio}, decay_ratio {th.decay_ratio}) with "
            f"{frac:.1%} of the spectrum above the edge (decay_fraction {th.decay_fraction:.0%}): "
            "a long tail, no edge"
        )
    elif frac >= th.decay_fraction:
        phase = "bulk-decay"
        reason = (
            f"{frac:.1%} of the spectrum above the edge (>= {th.decay_fraction:.0%}), "
            f"λ_max/λ+ = {ratio:.3f}, largest spacing {max_gap:.1f} TW scales: heavy mass above "
            "λ+, no clean edge"
        )
    else:
        phase = "bleeding-out"
        reason = (
            f"{num_out} eigenvalue(s) ({frac:.1%}) just past λ+ (λ_max/λ+ = {ratio:.3f}), "
            f"largest spacing {max_gap:.1f} TW scales: no gap"
        )
    if mp is None:
        status = Status.OK if num_null else Status.TOO_FEW_DATA
    else:
        status = Status.NOT_CONVERGED if mp.status == "not-converged" else Status.OK
    result = PhaseResult(
        phase=phase,
        reason=reason,
        mp=mp,
        powerlaw=pl,
        M=int(M),
        Q=Q,
        num_null=int(num_null),
        null_gap_decades=float(null_gap),
        num_outliers=int(num_out),
        outlier_fraction=float(frac),
        num_separated=int(num_sep),
        num_leaking=int(num_leak),
        max_gap=float(max_gap),
        lambda_max=top,
        ratio=float(ratio),
        D_bulk=float(d_bulk),
        thresholds=th,
        status=status,
    )
    return raise_if_failed(result, "phase classification") if throw else result
