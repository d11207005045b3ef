"""Marchenko–Pastur bulk fit: σ from the bulk, the edge λ+, spikes beyond a Tracy–Widom margin.

The fit alternates two steps until the set of bulk eigenvalues stops changing:

1. given σ, the bulk is every non-null eigenvalue at or below ``λ+(σ) + margin(σ)``;
2. given the bulk, σ is re-estimated from it (by default by minimising the Kolmogorov–Smirnov
   distance between the bulk and the MP law, a CDF fit).

It starts from a spike-robust median match (``σ² = median(λ)/median_MP(Q, 1)``), so a few large
spikes never enter the first estimate.

References:
    Marchenko & Pastur (1967), Math. USSR Sb. 1, 457; Johnstone (2001), Ann. Statist. 29, 295;
    Martin & Mahoney (2021), JMLR 22(165), Sec. 4 (bulk + spikes, the ``λ+ + √s`` margin of
    their tool).
"""

from __future__ import annotations

import functools
import math

import equinox as eqx
import numpy as np
from jaxtyping import ArrayLike, Float

from .._checks import (
    as_float_numpy,
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_scalar,
    require_host,
)
from .._status import Status, raise_if_failed
from ..laws._marchenko_pastur import _cdf_t as _mp_cdf_t

__all__ = [
    "MarchenkoPasturFit",
    "marchenko_pastur",
    "tw_scale",
    "tw1_quantile",
    "MIN_EIGENVALUES",
    "TW1_MEAN",
]

#: Fewest non-null eigenvalues a bulk fit accepts.
MIN_EIGENVALUES = 8

#: Mean of the Tracy–Widom β=1 law (Tracy & Widom 1996; Bornemann 2010).
TW1_MEAN = -1.2065335745820

# TW1 quantiles (Bornemann's Fredholm-determinant evaluation).
_TW1_QUANTILES = {0.9: 0.45012257, 0.95: 0.97929701, 0.99: 2.02343927, 0.999: 3.27208741}

METHODS = ("ks", "edge", "moment")
MARGINS = ("tw", "sqrt_tw", "weightwatcher")


def tw1_quantile(p: float) -> float:
    """The ``p`` quantile of the Tracy–Widom β=1 law.

    ``p ∈ {0.9, 0.95, 0.99, 0.999}`` come from a table (0.4501, 0.9793, 2.0234, 3.2721, from
    Bornemann's Fredholm-determinant evaluation); other ``p`` from ``htrmt.laws.tracy_widom.ppf``
    (cached).

    Raises:
        ValueError: ``p`` outside (0, 1).
    """
    check_scalar(p, "tw_quantile", gt=0.0, lt=1.0)
    for q, v in _TW1_QUANTILES.items():
        if abs(q - float(p)) < 1e-12:
            return v
    return _tw1_ppf(float(p))


@functools.lru_cache(maxsize=64)
def _tw1_ppf(p: float) -> float:
    from ..laws import tracy_widom as _tw

    return float(_tw.ppf(p, beta=1))


def tw_scale(M: int, Q: float, sigma: float = 1.0) -> float:
    """Leading-order Tracy–Widom scale of ``λ_max`` of ``WᵀW/N``.

    ``s = σ² Q^(-1/2) λ+^(2/3) M^(-2/3)``.

    Here ``λ+ = (1 + 1/√Q)²`` is the unit-variance edge. This is Johnstone's
    ``(√N + √M)(1/√N + 1/√M)^(1/3)/N`` with ``N = QM``, to leading order.

    Args:
        M: number of eigenvalues (the smaller matrix dimension).
        Q: aspect ratio ``N/M >= 1``.
        sigma: entry standard deviation.

    Example:
        >>> round(tw_scale(500, 1.0), 5)
        0.04
    """
    check_scalar(Q, "Q", ge=1.0)
    check_scalar(sigma, "sigma", gt=0.0)
    lp = (1.0 + 1.0 / math.sqrt(Q)) ** 2
    return float(sigma) ** 2 * Q**-0.5 * lp ** (2.0 / 3.0) * M ** (-2.0 / 3.0)


class MarchenkoPasturFit(eqx.Module):
    """Result of :func:`marchenko_pastur` (a pytree: its numbers are leaves, its labels static).

    Attributes:
        sigma: the fitted entry standard deviation σ (from ``method``).
        lambda_plus: ``σ²(1 + 1/√Q)²`` (``Q`` the attribute below: the bulk's aspect ratio).
        lambda_minus: ``σ²(1 − 1/√Q)²``.
        num_spikes: eigenvalues above ``threshold``.
        D_bulk: KS distance between the bulk eigenvalues and MP(Q, σ).
        margin: the absolute margin above ``lambda_plus`` (units of the eigenvalues).
        threshold: ``lambda_plus + margin``; eigenvalues above it are spikes.
        tw_scale: the leading-order TW scale ``s`` at the fitted σ (of ``M − num_zero``
            eigenvalues at aspect ratio ``Q``).
        c: the TW multiple of ``margin_rule="tw"`` (``None`` for ``"sqrt_tw"``).
        margin_rule: ``"tw"`` (``c·s``) or ``"sqrt_tw"`` (``√s``, the weightwatcher margin).
        method: how σ was estimated (``"ks"``, ``"edge"`` or ``"moment"``).
        sigma_ks, sigma_edge, sigma_moment: the three estimates on the final bulk.
        num_bulk: eigenvalues in the bulk (non-null and at or below ``threshold``).
        num_zero: null eigenvalues set aside (``λ <= zero_tol``).
        zero_tol: the absolute tolerance defining a null eigenvalue.
        Q: the aspect ratio of the fitted MP law: the ``Q`` passed, or ``Q·M/(M − num_zero)``
            when null eigenvalues were set aside (the bulk of a rank-``r`` matrix, see
            :func:`marchenko_pastur`).
        M: total number of eigenvalues (null ones included).
        spikes: the eigenvalues above ``threshold``, ascending (NumPy array).
        iterations: bulk/σ alternations made.
        converged: whether the bulk stopped changing.
        status: ``"ok"``; ``"rank-deficient"`` when more than a tenth of the eigenvalues are
            null (MP has essentially none: at Q = 1 a fraction ``(2/π)√(t/σ²)`` lies below t);
            ``"not-converged"`` when the bulk set cycled or ``max_iter`` was reached.
    """

    sigma: float
    lambda_plus: float
    lambda_minus: float
    num_spikes: int
    D_bulk: float
    margin: float
    threshold: float
    tw_scale: float
    c: float | None
    margin_rule: str = eqx.field(static=True)
    method: str = eqx.field(static=True)
    sigma_ks: float
    sigma_edge: float
    sigma_moment: float
    num_bulk: int
    num_zero: int
    zero_tol: float
    Q: float
    M: int
    spikes: np.ndarray = eqx.field(repr=False)
    iterations: int = 0
    converged: bool = True
    status: str = eqx.field(static=True, default="ok")

    @property
    def ok(self) -> bool:
        """True when the fit converged on a full-rank spectrum."""
        return self.status == "ok"

    @property
    def code(self) -> Status:
        """The status as the shared :class:`htrmt.Status` (``status`` is its label)."""
        return Status.from_label(self.status)

    @property
    def message(self) -> str:
        return self.code.message


# ---------------------------------------------------------------------------------------------
# The KS fit of σ².
#
# With s = σ² and F the unit-σ MP CDF, the KS distance of the sorted sample x_1..x_n is
# D(s) = max(A(s), B(s)) with A(s) = max_i (i/n − F(x_i/s)) non-decreasing in s and
# B(s) = max_i (F(x_i/s) − (i−1)/n) non-increasing: D is unimodal and its minimum is where A and
# B cross. The crossing is found exactly by an active-set iteration: at the current s take the
# maximising indices i (of A) and j (of B), solve i/n − F(x_i/s) = F(x_j/s) − (j−1)/n for s
# (a monotone scalar equation, closed-form F), and repeat until the maximisers stop changing.
# A bracket [lo, hi] with A < B at lo and A > B at hi safeguards the iteration (bisection when a
# step leaves it). The O(n) passes use a Chebyshev-spaced table of F (interpolation error below
# 1e-7); the scalar equation uses the closed form, so the result is the exact KS minimiser
# except where two maximisers tie to within 1e-7.


def _unit_cdf_np(t: np.ndarray, y: float) -> np.ndarray:
    """Closed-form unit-σ MP CDF at ``t`` (NumPy, float64), ``y = 1/Q``: the law's own formula."""
    a = (1.0 - math.sqrt(y)) ** 2
    b = (1.0 + math.sqrt(y)) ** 2
    return _mp_cdf_t(np.asarray(t, np.float64), y, a, b, xp=np)


class _UnitMP:
    """Scalar closed-form CDF and density of the unit-σ MP law, and an interpolation table."""

    def __init__(self, Q: float, size: int = 16385):
        y = 1.0 / Q
        self.y = y
        self.a = (1.0 - math.sqrt(y)) ** 2
        self.b = (1.0 + math.sqrt(y)) ** 2
        self.m = 1.0 + y
        self.h = 2.0 * math.sqrt(y)
        self.sab = abs(1.0 - y)
        th = np.linspace(0.0, math.pi, size)
        self.xp = self.a + (self.b - self.a) * 0.5 * (1.0 - np.cos(th))
        self.fp = _unit_cdf_np(self.xp, y)
        self.fp[0], self.fp[-1] = 0.0, 1.0

    def cdf(self, t: float) -> float:
        # the scalar form of htrmt.laws.marchenko_pastur's closed form (math, not array ops:
        # the pair solve calls it thousands of times per fit); checked against it in the tests
        a, b = self.a, self.b
        if t <= a:
            return 0.0
        if t >= b:
            return 1.0
        m, h, sab, y = self.m, self.h, self.sab, self.y
        r = math.sqrt(max((b - t) * (t - a), 0.0))
        t1 = m * math.asin(min(max((t - m) / h, -1.0), 1.0))
        t2 = sab * math.asin(min(max((m * t - sab * sab) / (h * t), -1.0), 1.0)) if sab else 0.0
        return min(max(0.5 + (r + t1 - t2) / (2.0 * math.pi * y), 0.0), 1.0)

    def ppf(self, p: float) -> float:
        """Quantile by table inversion and Newton steps on the closed form."""
        t = float(np.interp(p, self.fp, self.xp))
        for _ in range(4):
            d = self.pdf(t)
            if d <= 0.0:
                break
            t = min(max(t - (self.cdf(t) - p) / d, self.a), self.b)
        return t

    def pdf(self, t: float) -> float:
        a, b = self.a, self.b
        if t <= a or t >= b or t <= 0.0:
            return 0.0
        return math.sqrt((b - t) * (t - a)) / (2.0 * math.pi * self.y * t)


@functools.lru_cache(maxsize=32)
def _unit_mp(Q: float) -> _UnitMP:
    return _UnitMP(Q)


def _solve_pair(law: _UnitMP, xi: float, xj: float, c: float, u0: float) -> float:
    """The ``u = log s`` where ``F(xi e^-u) + F(xj e^-u) = c`` (decreasing in u; 0 < c < 2)."""
    lo = math.log(min(xi, xj) / law.b)  # both arguments >= b: G = 2 > c
    # both <= a: G = 0 < c (at Q = 1, a = 0 and G > 0 for every u: the bracket stays open)
    hi = math.log(max(xi, xj) / law.a) if law.a > 0 else math.inf
    u = max(u0, lo)
    if u >= hi:
        u = 0.5 * (lo + hi)
    for _ in range(200):  # Newton, safeguarded by the bracket (bisection when it leaves it)
        ei = xi * math.exp(-u)
        ej = xj * math.exp(-u)
        g = law.cdf(ei) + law.cdf(ej) - c
        if g > 0:
            lo = u
        elif g < 0:
            hi = u
        else:
            return u
        dg = -(law.pdf(ei) * ei + law.pdf(ej) * ej)  # dG/du
        un = u - g / dg if dg < 0 else math.nan
        # Newton's next error is about the square of this step: stop below 1e-8 (u ~ 1-30).
        # Checked before the bracket: once an end of the bracket is the root to rounding, the
        # Newton point lands on it (or a rounding error outside it), and bisecting instead
        # stopped up to 1e-8 away from the root (not scale-equivariant).
        if abs(un - u) <= 1e-8 * max(1.0, abs(u)):
            return un
        if not lo <= un <= hi:
            un = 0.5 * (lo + hi) if hi < math.inf else u + 1.0
        if abs(un - u) <= 1e-8 * max(1.0, abs(u)) or hi - lo <= 1e-14 * max(1.0, abs(u)):
            return un
        u = un
    return un


def _ks_exact(x: np.ndarray, Q: float, sig2: float) -> float:
    """KS distance of the sorted sample ``x`` to MP(Q, √sig2), closed-form CDF."""
    n = x.size
    f = _unit_cdf_np(x / sig2, 1.0 / Q)
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))


def _fit_ks(x: np.ndarray, Q: float, sig2_0: float) -> float:
    """The σ² minimising the KS distance of the sorted sample ``x`` to MP(Q, σ) (see above)."""
    law = _unit_mp(Q)
    n = x.size
    up = np.arange(1, n + 1, dtype=np.float64) / n
    dn = up - 1.0 / n
    xp, fp = law.xp, law.fp
    lo, hi = -math.inf, math.inf
    u = math.log(sig2_0)
    pair = None
    for _ in range(200):
        f = np.interp(x * math.exp(-u), xp, fp)
        d1 = up - f
        d2 = f - dn
        i = int(np.argmax(d1))
        j = int(np.argmax(d2))
        above = d1[i] > d2[j]
        if above:
            hi = u
        else:
            lo = u
        if (i, j) == pair or hi - lo <= 1e-14 * max(1.0, abs(u)):
            break  # u solves this pair's equation and the pair still maximises: A = B
        un = _solve_pair(law, float(x[i]), float(x[j]), (i + j + 1) / n, u)
        if abs(un - u) <= 1e-15 * max(1.0, abs(u)):
            break  # already at the pair's root
        if lo < un < hi:
            pair = (i, j)
        else:  # outside the bracket: bisect, or step out while one side is still open
            pair = None
            if math.isfinite(lo) and math.isfinite(hi):
                un = 0.5 * (lo + hi)
            else:
                un = u - 1.0 if above else u + 1.0
        u = un
    return math.exp(u)


def marchenko_pastur(
    evals: Float[ArrayLike, " m"],
    Q: float,
    *,
    method: str = "ks",
    margin: str = "tw",
    c: float | None = None,
    tw_quantile: float = 0.99,
    zero_tol: float | None = None,
    max_iter: int = 50,
    throw: bool = False,
) -> MarchenkoPasturFit:
    """Fit a Marchenko–Pastur bulk to a spectrum: σ, the edges, the spikes, a bulk KS distance.

    Spikes are eigenvalues above ``λ+ + margin``:

    - ``margin="tw"`` (default): ``c·s`` with ``s = σ² Q^(-1/2) λ+^(2/3) M^(-2/3)`` the
      leading-order Tracy–Widom scale (``λ+ = (1 + 1/√Q)²``) and ``c`` the TW1 quantile at
      ``tw_quantile`` (default 0.99, ``c = 2.0234``): a pure MP matrix shows a false spike about
      1% of the time.
    - ``margin="sqrt_tw"`` (alias ``"weightwatcher"``): ``√s``, the much wider margin of the
      weightwatcher tool (at M = 500, Q = 1: ``√s ≈ 0.20`` against ``c·s ≈ 0.08``).

    σ comes from the bulk (the non-null eigenvalues at or below the threshold) by ``method``:

    - ``"ks"`` (default): minimise the KS distance between the bulk and MP(Q, σ) over σ
      (a CDF fit: the exact minimiser, found where the two one-sided KS distances cross);
    - ``"edge"``: edge matching with the TW mean, ``max(bulk) = σ²(λ+ + E[TW1]·s₁)``
      (``s₁`` the unit-σ scale, ``E[TW1] = −1.2065``);
    - ``"moment"``: ``σ² = mean(bulk)`` (MP's mean is σ²).

    All three are reported; ``method`` picks the one that drives the iteration and ``sigma``.

    Rank deficits: eigenvalues ``<= zero_tol`` (default ``M·eps·λ_max``, the round-off level of
    ``eigvalsh`` on a Gram matrix; round-off negatives are among them) are set aside as null,
    counted in ``num_zero`` and excluded from the bulk; ``status`` is ``"rank-deficient"`` when
    they are more than a tenth of M. The other ``r = M − num_zero`` eigenvalues are those of
    ``W`` restricted to its row space, an ``N×r`` matrix: the bulk is fitted with MP at
    ``Q_r = Q·M/r`` and the TW scale of ``r`` eigenvalues (reported as ``Q``). This is exact for
    dead units (zero columns) and for a random matrix with a null space (``W = G·P``, P a
    projector); fitting the non-null eigenvalues with MP(Q) instead biases σ (30% dead units at
    Q = 1: σ̂ = 1.12σ) and puts λ+ above the bulk. It treats every null eigenvalue as a rank
    deficit: at Q close to 1 in float32 the smallest bulk eigenvalues (a fraction about
    ``(2/π)√(zero_tol/σ²)`` of M) fall below the default tolerance and are counted too.

    Args:
        evals: 1-D eigenvalues of ``X = WᵀW/N`` (any order; tiny negative round-off is clipped).
        Q: aspect ratio ``N/M >= 1`` of the matrix the eigenvalues came from (null eigenvalues
            included: a rank deficit is accounted for by the fit).
        method: ``"ks"``, ``"edge"`` or ``"moment"``.
        margin: ``"tw"``, ``"sqrt_tw"`` or ``"weightwatcher"`` (same as ``"sqrt_tw"``).
        c: the TW multiple for ``margin="tw"`` (overrides ``tw_quantile``), >= 0.
        tw_quantile: TW1 quantile defining ``c`` when ``c`` is None.
        zero_tol: absolute tolerance below which an eigenvalue is null.
        max_iter: most bulk/σ alternations.
        throw: raise a ``ValueError`` (with ``fit.message``) when the status is not ``"ok"``
            (not converged, rank-deficient). Default ``False``: check ``fit.ok``.

    Returns:
        A :class:`MarchenkoPasturFit`.

    Raises:
        TypeError: called under ``jit``/``vmap``/``grad`` (it runs on the host, NumPy).
        TypeError: non-float ``evals``.
        ValueError: ``evals`` not 1-D, NaN/Inf, clearly negative values, all zero, or fewer than
            8 non-null eigenvalues; ``Q < 1``; an unknown ``method`` or ``margin``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.spiked_covariance(jax.random.key(0), (1000, 500), spikes=(10.0,))
        >>> fit = ht.fit.marchenko_pastur(ht.esd(W), 2.0)
        >>> fit.num_spikes
        1

    References:
        Johnstone (2001), Ann. Statist. 29, 295 (TW scale); Martin & Mahoney (2021),
        JMLR 22(165), Sec. 4.
    """
    require_host("htrmt.fit.marchenko_pastur", evals, Q, hint="htrmt.fit.marchenko_pastur_jit")
    check_choice(method, "method", METHODS)
    check_choice(margin, "margin", MARGINS)
    check_scalar(Q, "Q", ge=1.0)
    check_scalar(tw_quantile, "tw_quantile", gt=0.0, lt=1.0)
    if c is not None:
        check_scalar(c, "c", ge=0.0)
    check_int(max_iter, "max_iter", ge=1)
    check_bool(throw, "throw")
    x = check_finite(as_float_numpy(evals, "evals"), "evals")
    if x.ndim != 1:
        raise ValueError(f"evals must be 1-D (one spectrum), got shape {x.shape}")
    dt = x.dtype
    lam = np.sort(np.asarray(x, dtype=np.float64))
    M = lam.size
    if M < MIN_EIGENVALUES:
        raise ValueError(
            f"evals has {M} eigenvalues; a Marchenko–Pastur fit needs at least {MIN_EIGENVALUES}"
        )
    lam_max = float(np.max(np.abs(lam)))
    if lam_max == 0.0:
        raise ValueError("evals are all zero; there is no bulk to fit")
    eps = float(np.finfo(np.dtype(dt)).eps)
    if zero_tol is None:
        zero_tol = M * eps * lam_max
    else:
        check_scalar(zero_tol, "zero_tol", ge=0.0)
        zero_tol = float(zero_tol)
    if lam[0] < -max(zero_tol, 100 * eps * lam_max):
        raise ValueError(
            f"evals has a negative value {lam[0]!r}, below round-off (tolerance "
            f"{max(zero_tol, 100 * eps * lam_max):.3g}); eigenvalues of WᵀW/N are >= 0"
        )
    lam = np.maximum(lam, 0.0)
    Q = float(Q)
    nz = lam[lam > zero_tol]
    num_zero = M - nz.size
    if nz.size < MIN_EIGENVALUES:
        raise ValueError(
            f"evals has only {nz.size} eigenvalues above zero_tol={zero_tol:.3g}; a "
            f"Marchenko–Pastur fit needs at least {MIN_EIGENVALUES}"
        )

    # A rank deficit: the non-null eigenvalues of an N×M matrix of rank r are those of an N×r
    # matrix (W restricted to its row space), so the bulk is MP with Q_r = N/r = Q·M/r and its
    # edge fluctuates on the TW scale of r eigenvalues. (Fitting them with MP(Q) biased σ and
    # put λ+ above the bulk.) Q_r = Q for a full-rank spectrum.
    r = int(nz.size)
    Q = Q * M / r if num_zero else Q
    rule = "sqrt_tw" if margin in ("sqrt_tw", "weightwatcher") else "tw"
    c_val = (
        None if rule == "sqrt_tw" else (float(c) if c is not None else tw1_quantile(tw_quantile))
    )
    lp1 = (1.0 + 1.0 / math.sqrt(Q)) ** 2
    lm1 = (1.0 - 1.0 / math.sqrt(Q)) ** 2
    s1 = tw_scale(r, Q, 1.0)

    def margin_of(sig2: float) -> float:
        s = s1 * sig2
        return c_val * s if c_val is not None else math.sqrt(s)

    def estimate(bulk: np.ndarray, sig2_prev: float, which: str) -> float:
        if which == "moment":
            return float(np.mean(bulk))
        if which == "edge":
            return float(bulk[-1]) / (lp1 + TW1_MEAN * s1)
        return _fit_ks(bulk, Q, sig2_prev)

    # Spike-robust start: match the median of the non-null eigenvalues.
    med_mp = _unit_mp(Q).ppf(0.5)
    sig2 = float(np.median(nz)) / med_mp
    k_prev = -1
    converged = False
    it = 0
    seen: set[int] = set()
    while it < max_iter:
        it += 1
        thr = sig2 * lp1 + margin_of(sig2)
        k = int(np.searchsorted(nz, thr, side="right"))
        k = max(k, MIN_EIGENVALUES)
        if k == k_prev:
            converged = True
            break
        if k in seen:  # a cycle between two bulk sets: stop at the current one
            break
        seen.add(k)
        k_prev = k
        sig2 = estimate(nz[:k], sig2, method)
    bulk = nz[:k_prev]
    # the loop's last estimate was made on this bulk: with method='ks' it is the KS fit
    sig2_ks = sig2 if method == "ks" else _fit_ks(bulk, Q, sig2)
    sig2_edge = estimate(bulk, sig2, "edge")
    sig2_mom = estimate(bulk, sig2, "moment")
    sig2 = {"ks": sig2_ks, "edge": sig2_edge, "moment": sig2_mom}[method]
    lam_plus = sig2 * lp1
    marg = margin_of(sig2)
    thr = lam_plus + marg
    spikes = nz[nz > thr]
    num_bulk = int(np.sum(nz <= thr))
    d_bulk = _ks_exact(nz[:num_bulk] if num_bulk else bulk, Q, sig2)
    if not converged:
        status = "not-converged"
    elif num_zero > 0.1 * M:
        status = "rank-deficient"
    else:
        status = "ok"
    fit = MarchenkoPasturFit(
        sigma=math.sqrt(sig2),
        lambda_plus=lam_plus,
        lambda_minus=sig2 * lm1,
        num_spikes=int(spikes.size),
        D_bulk=float(d_bulk),
        margin=float(marg),
        threshold=float(thr),
        tw_scale=float(s1 * sig2),
        c=c_val,
        margin_rule=rule,
        method=method,
        sigma_ks=math.sqrt(sig2_ks),
        sigma_edge=math.sqrt(max(sig2_edge, 0.0)),
        sigma_moment=math.sqrt(sig2_mom),
        num_bulk=num_bulk,
        num_zero=int(num_zero),
        zero_tol=float(zero_tol),
        Q=Q,
        M=int(M),
        spikes=spikes,
        iterations=it,
        converged=converged,
        status=status,
    )
    return raise_if_failed(fit, "Marchenko–Pastur fit") if throw else fit
