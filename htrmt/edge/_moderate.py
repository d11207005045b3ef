"""The edge for moderately heavy tails, µ > 2: largest entries through the rank-one BBP map.

With finite variance σ² the ESD of ``X = WᵀW/N`` converges to Marchenko–Pastur, but for
µ < 4 (infinite fourth moment) a vanishing fraction of eigenvalues lies beyond λ+. Each of
the largest entries ``w`` of W acts as a rank-one perturbation of strength
``θ = |w|/(σ√N)`` of the noise ``Z/(σ√N)``; above ``θ = c^{1/4}`` (``c = M/N``) it creates
an outlier at ``σ²·g(θ)``, ``g(θ) = (1 + θ²)(c + θ²)/θ²`` (the low-rank map of
:func:`htrmt.laws.bbp.location`; ``g(θ) ≈ θ² + 1 + c`` for large θ, which is why the bare
largest entry ``max w²/N`` underestimates λ_max at reachable sizes). The largest |w| among the
N·M entries are the top order statistics of N·M i.i.d. draws (asymptotically a Poisson
process with intensity ∝ x^{−µ−1}); the bulk edge contributes a Tracy–Widom law at λ+. So

    P(λ_max <= x) = P(θ_(1) <= g⁻¹(max(x, λ+)/σ²)) · F_TW((x − centre)/scale).

The bulk that each large entry perturbs is made of the entries that are not themselves
outliers. With ``bulk="truncated"`` its variance is the second moment of one entry below the
BBP threshold, ``s² = E[w²; |w| < T]`` with ``T = s·√N·c^{1/4}`` solved self-consistently, and
s² replaces σ² in the map, the bulk edge and the Tracy–Widom centring (µ = 2.5, N = M = 200:
s² = 0.81σ²; ``σ² − s² ∝ (σ√N)^{2−µ}`` vanishes as N grows). The default ``bulk="full"`` keeps
σ². Measured on sampled matrices (``python -m sims.moderate_edge``, ``docs/calibration.md``):
each matrix's own largest entry through the map predicts its λ_max with a median relative error
that shrinks with N (µ = 2.5, Q = 1, N = 200 → 3200: +3.1% → +0.4% with σ², within 0.35% with
s²) and a spread that shrinks too (0.032 → 0.0045); the marginal law (``cdf``) reaches the
sampling floor by N = 800 for µ <= 3 and is closer with σ² for µ >= 3, where λ_max is often at
the bulk edge. At µ = 3.5 matrices without an outlier have λ_max about one Tracy–Widom scale
above the Tracy–Widom law (subthreshold entries push the edge up; for µ < 4 the edge is not
Tracy–Widom), which this law does not model.

For µ > 4 the probability of any outlier vanishes as N grows and the law crosses over to the
Tracy–Widom law at λ+ (it is stated for all µ > 2 here; the crossover is explicit).
Non-centred Lomax entries (``numpy.random.pareto``) add the mean matrix, a rank-one spike of
strength ``θ = m·√M/σ`` (``m = 1/(µ − 1)``): their top eigenvalue is
:func:`lomax_spike` ``≈ M/(µ − 1)²``.

References:
    Auffinger, Ben Arous & Péché (2009), Ann. IHP Probab. Stat. 45, 589;
    Benaych-Georges & Nadakuditi (2012), J. Multivariate Anal. 111, 120 (the low-rank map);
    Biroli, Bouchaud & Potters (2007), EPL 78, 10001.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np
import scipy.stats

from .._checks import check_choice, check_int, check_key, check_scalar
from ..laws import tracy_widom
from ._scaling import tw_scaling

__all__ = ["ModerateEdgeLaw", "moderate_edge_law", "lomax_spike"]

_ENTRIES = ("pareto", "student_t")
_BULKS = ("truncated", "full")


def _check(mu: Any, N: Any, M: Any, entries: str) -> None:
    check_choice(entries, "entries", _ENTRIES + ("levy_stable",))
    if entries == "levy_stable":
        raise ValueError(
            "entries='levy_stable' has tail index mu = alpha_stable <= 2 (infinite variance): "
            "outside the regime mu > 2 of this law; use htrmt.edge.frechet_law"
        )
    check_scalar(mu, "mu")
    if not float(mu) > 2:
        raise ValueError(
            f"mu must be > 2 (finite variance: the moderately heavy-tailed regime 2 < mu < 4 and "
            f"its crossover to Tracy-Widom for mu >= 4), got mu={mu}; for mu < 2 use "
            "htrmt.edge.frechet_law"
        )
    check_int(N, "N", ge=2)
    check_int(M, "M", ge=1)
    if N < M:
        raise ValueError(f"N must be >= M, got N={N}, M={M}")


class ModerateEdgeLaw:
    """Law of λ_max (and of the top k) of ``WᵀW/N`` for i.i.d. heavy-tailed entries, µ > 2.

    Built by :func:`moderate_edge_law`. Host-side (NumPy/SciPy, float64) functions.

    Attributes:
        mu, N, M, entries, bulk: the inputs.
        variance: σ² of one entry (``µ/(µ − 2)`` for both laws).
        c: ``M/N``.
        lambda_plus: the limiting Marchenko–Pastur edge ``σ²(1 + √c)²``.
        bulk_variance: s², the variance of the bulk that the large entries perturb (``σ²`` with
            ``bulk="full"``, the default; ``E[w²; |w| < threshold]`` with ``bulk="truncated"``).
        threshold: the entry size at the BBP threshold, ``s·√N·c^{1/4}``: larger entries make
            outliers.
        bulk_edge: ``s²(1 + √c)²``, where the outliers begin.
        tw_centre, tw_scale: Johnstone centring and scaling of the bulk edge (β = 1, with s).
    """

    def __init__(self, mu: float, N: int, M: int, entries: str = "pareto", bulk: str = "full"):
        _check(mu, N, M, entries)
        check_choice(bulk, "bulk", _BULKS)
        self.mu, self.N, self.M, self.entries, self.bulk = float(mu), int(N), int(M), entries, bulk
        self.n = self.N * self.M
        self.variance = self.mu / (self.mu - 2.0)
        self.c = self.M / self.N
        self.lambda_plus = self.variance * (1.0 + math.sqrt(self.c)) ** 2
        s2 = self.variance
        if bulk == "truncated":
            for _ in range(200):
                new = self.variance - self._tail_second_moment(
                    math.sqrt(s2 * self.N) * self.c**0.25
                )
                done = abs(new - s2) <= 1e-13 * self.variance
                s2 = new
                if done:
                    break
        self.bulk_variance = s2
        self.threshold = math.sqrt(s2 * self.N) * self.c**0.25
        self.bulk_edge = s2 * (1.0 + math.sqrt(self.c)) ** 2
        tw = tw_scaling(self.N, self.M, beta=1, kind="johnstone", sigma=math.sqrt(s2))
        self.tw_centre, self.tw_scale = float(tw.centre), float(tw.scale)

    def _tail_second_moment(self, T: float) -> float:
        """``E[w²; |w| > T]`` of one entry."""
        if self.entries == "pareto":
            return self.variance * max(T, 1.0) ** (2.0 - self.mu)
        # Student-t with ν = µ and y = 1 + x²/ν: x²/ν·y^{−(ν+1)/2} = y^{−(ν−1)/2} − y^{−(ν+1)/2},
        # and the first term is a t law with ν − 2 degrees of freedom at x·sqrt((ν − 2)/ν).
        nu = self.mu

        def log_c(v: float) -> float:
            return math.lgamma((v + 1) / 2) - math.lgamma(v / 2) - 0.5 * math.log(v * math.pi)

        r = math.sqrt((nu - 2.0) / nu)
        first = math.exp(log_c(nu) - log_c(nu - 2.0)) / r * float(scipy.stats.t.sf(T * r, nu - 2.0))
        return 2.0 * nu * (first - float(scipy.stats.t.sf(T, nu)))

    # --- one entry: P(|w| > x) and its inverse -------------------------------------------
    def entry_sf(self, x: Any) -> np.ndarray:
        """``P(|w| > x)`` of one entry (symmetric Pareto: ``x^{−µ}`` for x >= 1)."""
        x = np.asarray(x, float)
        if self.entries == "pareto":
            return np.where(x < 1, 1.0, np.maximum(x, 1.0) ** (-self.mu))
        return 2.0 * scipy.stats.t.sf(np.maximum(x, 0.0), self.mu)

    def entry_isf(self, u: Any) -> np.ndarray:
        """Inverse of :meth:`entry_sf`."""
        u = np.asarray(u, float)
        if self.entries == "pareto":
            return u ** (-1.0 / self.mu)
        return scipy.stats.t.isf(u / 2.0, self.mu)

    @property
    def tail_constant(self) -> float:
        """c in ``P(|w| > x) ~ c·x^{−µ}`` (1 for Pareto; ``2·t_µ``'s constant for Student-t)."""
        if self.entries == "pareto":
            return 1.0
        m = self.mu
        k = math.exp(math.lgamma((m + 1) / 2) - math.lgamma(m / 2)) / math.sqrt(m * math.pi)
        return 2.0 * k * m ** ((m - 1) / 2)

    # --- the BBP map ---------------------------------------------------------------------
    def g(self, theta: Any) -> np.ndarray:
        """Outlier position ``s²(1 + θ²)(c + θ²)/θ²`` (the bulk edge for ``θ <= c^{1/4}``)."""
        t2 = np.maximum(np.asarray(theta, float) ** 2, math.sqrt(self.c))
        return self.bulk_variance * (1 + t2) * (self.c + t2) / t2

    def g_inv(self, x: Any) -> np.ndarray:
        """Inverse of :meth:`g` on ``[bulk_edge, ∞)`` (``c^{1/4}`` at and below it)."""
        y = np.maximum(np.asarray(x, float) / self.bulk_variance, (1 + math.sqrt(self.c)) ** 2)
        b = y - 1 - self.c
        t2 = (b + np.sqrt(np.maximum(b * b - 4 * self.c, 0.0))) / 2
        return np.sqrt(t2)

    def _entry_threshold(self, x: Any) -> np.ndarray:
        return self.g_inv(x) * math.sqrt(self.bulk_variance * self.N)

    def from_entry(self, w: Any) -> np.ndarray:
        """The outlier made by an entry of size ``|w|``: ``s²·g(|w|/(s√N))``.

        Given a sampled matrix's largest entry this predicts its λ_max when an outlier exists
        (the bulk edge otherwise, without its Tracy–Widom fluctuation); ``sims.moderate_edge``
        compares it with each matrix's own λ_max.
        """
        w = np.abs(np.asarray(w, float))
        if not np.all(np.isfinite(w)):
            raise ValueError(f"w must be finite, got {np.count_nonzero(~np.isfinite(w))} NaN/Inf")
        return self.g(w / math.sqrt(self.bulk_variance * self.N))

    # --- the law of λ_max ----------------------------------------------------------------
    def outlier_cdf(self, x: Any) -> np.ndarray:
        """``P(s²·g(θ_(1)) <= max(x, bulk_edge))``: the largest entry's mapped position."""
        s = self.entry_sf(self._entry_threshold(x))
        return np.exp(self.n * np.log1p(-np.minimum(s, 1.0)))

    def bulk_cdf(self, x: Any) -> np.ndarray:
        """Tracy–Widom (β = 1) law of the bulk edge at λ+."""
        s = (np.asarray(x, float) - self.tw_centre) / self.tw_scale
        return np.asarray(tracy_widom.cdf(s, beta=1), float)

    def cdf(self, x: Any) -> np.ndarray:
        """``P(λ_max <= x)`` = outlier cdf × bulk (Tracy–Widom) cdf."""
        return self.outlier_cdf(x) * self.bulk_cdf(x)

    def sf(self, x: Any) -> np.ndarray:
        """``1 − cdf``."""
        return 1.0 - self.cdf(x)

    def ppf(self, p: Any) -> np.ndarray:
        """Quantiles of λ_max by bisection on :meth:`cdf` (p in (0, 1))."""
        p = np.asarray(p, float)
        if np.any((p <= 0) | (p >= 1)):
            raise ValueError(f"p must lie in (0, 1), got p={p}")
        lo = np.full(p.shape, self.tw_centre - 10 * self.tw_scale)
        hi = np.full(p.shape, max(self.bulk_edge, self.tw_centre) + 10 * self.tw_scale)
        while np.any(self.cdf(hi) < p):
            hi = np.where(self.cdf(hi) < p, 2 * hi, hi)
        for _ in range(80):
            mid = (lo + hi) / 2
            below = self.cdf(mid) < p
            lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
        return (lo + hi) / 2

    def median(self) -> float:
        return float(self.ppf(0.5))

    def outlier_count(self, x: Any | None = None) -> float:
        """Expected number of eigenvalues above ``x`` (default ``bulk_edge``) made by large entries.

        ``N·M·P(|w| > √(s²N)·g⁻¹(x))``: of order ``N^{1−µ/2}`` times M at the edge.
        """
        x = self.bulk_edge if x is None else x
        return float(self.n * self.entry_sf(self._entry_threshold(x)))

    def sample(self, key: jax.Array, num: int, k: int = 1) -> np.ndarray:
        """Samples of the top k eigenvalues, shape ``(num, k)`` (descending).

        The top k order statistics of the N·M values ``|w|`` are drawn directly (exact
        uniform order statistics by successive beta draws), mapped by :meth:`g` and merged with
        a bulk edge drawn from Tracy–Widom: eigenvalue j is ``max(s²g(θ_(j)), bulk_j)`` with
        ``bulk_1`` Tracy–Widom and ``bulk_j`` for j > 1 set to the bulk edge (the outliers dominate
        the top k only when they exist; below that the law is the Tracy–Widom edge).
        """
        key = check_key(key)
        check_int(num, "num", ge=1)
        check_int(k, "k", ge=1)
        rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
        u = np.empty((num, k))
        prev = np.zeros(num)
        for j in range(k):
            v = rng.random(num)
            prev = 1.0 - (1.0 - prev) * v ** (1.0 / (self.n - j))
            u[:, j] = prev
        out = self.from_entry(self.entry_isf(u))
        tw = np.asarray(tracy_widom.ppf(np.clip(rng.random(num), 1e-12, 1 - 1e-12), beta=1), float)
        bulk = np.full((num, k), self.bulk_edge)
        bulk[:, 0] = self.tw_centre + self.tw_scale * tw
        return np.sort(np.maximum(out, bulk), axis=1)[:, ::-1]

    def __repr__(self) -> str:
        return (
            f"ModerateEdgeLaw(mu={self.mu}, N={self.N}, M={self.M}, entries={self.entries!r}, "
            f"bulk={self.bulk!r}, lambda_plus={self.lambda_plus:.4g}, "
            f"bulk_edge={self.bulk_edge:.4g})"
        )


def moderate_edge_law(
    mu: float, N: int, M: int, *, entries: str = "pareto", bulk: str = "full"
) -> ModerateEdgeLaw:
    """The finite-N law of λ_max of ``WᵀW/N`` for i.i.d. entries with tail index µ > 2.

    Args:
        mu: tail index (> 2; the outliers vanish for µ > 4: the Tracy–Widom crossover).
        N, M: sizes (ints, N >= M, N >= 2).
        entries: ``"pareto"`` (``htrmt.ensembles.pareto``, symmetric convention) or
            ``"student_t"`` (``htrmt.ensembles.student_t`` with ``df = µ``). ``"levy_stable"``
            is refused: its µ <= 2.
        bulk: ``"full"`` (default: the bulk has the entries' variance σ²) or ``"truncated"``
            (the second moment of the entries below the BBP threshold, solved
            self-consistently: a sharper prediction of λ_max from a matrix's largest entry for
            µ near 2 at small N; see the module docstring).

    Returns:
        :class:`ModerateEdgeLaw`.

    Raises:
        ValueError: ``µ <= 2`` (naming µ and the regime), ``N < M``, unknown entries or bulk.

    Example:
        >>> law = moderate_edge_law(3.0, 400, 400)
        >>> 15 < law.median() < 18  # 16.36; sampled median (200 matrices): 16.9
        True
    """
    return ModerateEdgeLaw(mu, N, M, entries, bulk)


def lomax_spike(mu: float, N: int, M: int) -> float:
    """Top eigenvalue of ``WᵀW/N`` for non-centred Lomax entries (``numpy.random.pareto``).

    The mean ``m = 1/(µ − 1)`` makes ``W = m·1 1ᵀ + centred``: a rank-one spike of strength
    ``θ = m√M/σ`` with ``σ² = µ/((µ − 1)²(µ − 2))``, at ``σ²(1 + θ²)(c + θ²)/θ²``
    ``= M/(µ − 1)² + σ²(1 + c) + …`` — the mean spike, not a Fréchet law.

    Example:
        >>> round(lomax_spike(3.0, 400, 400) / (400 / 4), 2)
        1.02
    """
    check_scalar(mu, "mu")
    if not float(mu) > 2:
        raise ValueError(f"mu must be > 2 for the Lomax mean spike (finite variance), got mu={mu}")
    check_int(N, "N", ge=1)
    check_int(M, "M", ge=1)
    mu = float(mu)
    m = 1.0 / (mu - 1.0)
    var = mu / ((mu - 1.0) ** 2 * (mu - 2.0))
    c = M / N
    t2 = m * m * M / var
    return var * (1 + t2) * (c + t2) / t2
