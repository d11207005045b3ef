"""Heavy-tailed edges: λ_max of Pareto matrices, its Fréchet limit, and the µ = 4 crossover.

For i.i.d. entries with ``P(|w| > x) ~ c·x^{−µ}`` and µ < 4 the largest eigenvalue of
``X = WᵀW/N`` is driven by the largest squared entry: ``λ_max ≈ max_ij w_ij²/N``
(Soshnikov 2004; Auffinger, Ben Arous & Péché 2009). With ``P(w² > x) = c·x^{−µ/2}`` the
maximum of the ``N·M`` squared entries, divided by N, converges to a Fréchet law with shape
``µ/2`` and scale ``(c·N·M)^{2/µ}/N``; at Q = 1 that grows like ``N^{4/µ − 1}``. For µ > 4
the edge sticks to ``λ+ = σ²(1 + 1/√Q)²`` with Tracy–Widom fluctuations (large finite-N
corrections near µ = 4).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_key, check_scalar, float_dtype
from ..ensembles import pareto
from ..laws._common import as_x, param
from . import _frechet
from ._scaling import TWScaling, tw_scaling

__all__ = [
    "FrechetLaw",
    "frechet_law",
    "max_entry_cdf",
    "pareto_largest_eigenvalues",
    "EdgeRegime",
    "edge_regime",
]


class FrechetLaw(eqx.Module):
    """Fréchet law ``F(x) = exp(−((x − loc)/scale)^{−shape})`` for ``x > loc``.

    Attributes:
        shape: tail index of the law (``P(X > x) ~ (x/scale)^{−shape}``); ``µ/2`` for λ_max.
        scale: scale.
        loc: location (0 for λ_max).

    Example:
        >>> law = FrechetLaw(shape=1.5, scale=2.0)
        >>> round(float(law.cdf(2.0)), 6)  # exp(-1)
        0.367879
    """

    shape: float = eqx.field(static=True)
    scale: float = eqx.field(static=True)
    loc: float = eqx.field(static=True, default=0.0)

    def __check_init__(self):
        check_scalar(self.shape, "shape", gt=0)
        check_scalar(self.scale, "scale", gt=0)
        check_scalar(self.loc, "loc")

    def _kw(self) -> dict[str, float]:
        return dict(alpha=self.shape, scale=self.scale, loc=self.loc)

    def logcdf(self, x: Any) -> Float[Array, "..."]:
        """``log F(x) = −z^{−shape}`` (``−inf`` for ``x <= loc``)."""
        return _frechet.logcdf(x, **self._kw())

    def cdf(self, x: Any) -> Float[Array, "..."]:
        """``F(x) = exp(−z^{−shape})``, ``z = (x − loc)/scale``; 0 for ``x <= loc``."""
        return _frechet.cdf(x, **self._kw())

    def sf(self, x: Any) -> Float[Array, "..."]:
        """``1 − F(x) = −expm1(−z^{−shape})`` (accurate in the right tail)."""
        return _frechet.sf(x, **self._kw())

    def logpdf(self, x: Any) -> Float[Array, "..."]:
        return _frechet.logpdf(x, **self._kw())

    def pdf(self, x: Any) -> Float[Array, "..."]:
        """``shape/scale · z^{−1−shape} · exp(−z^{−shape})``."""
        return _frechet.pdf(x, **self._kw())

    def ppf(self, p: Any) -> Float[Array, "..."]:
        """``loc + scale·(−log p)^{−1/shape}`` (``loc`` at p = 0, ``inf`` at p = 1)."""
        return _frechet.ppf(p, **self._kw())

    def moments(self) -> tuple[float, float, float, float]:
        """(mean, variance, skewness, excess kurtosis); ``inf`` where they do not exist."""
        return _frechet.moments(**self._kw())

    def mean(self) -> float:
        """``loc + scale·Γ(1 − 1/shape)`` for shape > 1, ``inf`` otherwise."""
        return self.moments()[0]

    def median(self) -> float:
        return self.loc + self.scale * math.log(2.0) ** (-1 / self.shape)

    def sample(self, key: jax.Array, shape: tuple[int, ...] = (), dtype: Any = None) -> Array:
        """Inverse-CDF samples: ``loc + scale·E^{−1/shape}`` with ``E ~ Exp(1)``."""
        return _frechet.sample(key, shape, dtype=dtype, **self._kw())


def _check_mu_sizes(mu: Any, N: Any, M: Any) -> None:
    check_scalar(mu, "mu", gt=0)
    check_int(N, "N", ge=1)
    check_int(M, "M", ge=1)
    if N < M:
        raise ValueError(f"N must be >= M, got N={N}, M={M}")


def frechet_law(mu: float, N: int, M: int, *, tail_constant: float = 1.0) -> FrechetLaw:
    """The Fréchet limit of λ_max of ``WᵀW/N`` for heavy-tailed entries, µ < 4.

    For ``P(|w| > x) ~ c·x^{−µ}`` (``c = tail_constant``; ``c = 1`` for
    ``htrmt.ensembles.pareto`` in both conventions), ``P(w² > x) ~ c·x^{−µ/2}`` and
    ``max w²/N`` over the ``N·M`` entries is approximately Fréchet with shape ``µ/2`` and scale
    ``(c·N·M)^{2/µ}/N`` (``= Q^{−2/µ}·N^{4/µ−1}``, i.e. ``N^{4/µ−1}`` at Q = 1).

    Args:
        mu: tail index µ of the entries (> 0; the law describes λ_max for µ < 4).
        N, M: matrix sizes (ints, N >= M).
        tail_constant: c in ``P(|w| > x) ~ c·x^{−µ}``.

    Returns:
        :class:`FrechetLaw` with ``shape = µ/2``, ``scale = (c·N·M)^{2/µ}/N``, ``loc = 0``.

    Raises:
        ValueError: ``µ <= 0``, ``N < M``, sizes < 1, ``tail_constant <= 0``.
        TypeError: non-integer sizes.

    Example:
        >>> law = frechet_law(1.0, 100, 100)
        >>> law.shape, law.scale  # (N·M)^2/N = 1e6
        (0.5, 1000000.0)

    References:
        Auffinger, Ben Arous & Péché (2009), Ann. IHP Probab. Stat. 45, 589, Thm 1.
        Soshnikov (2004), Electron. Comm. Probab. 9, 82.
    """
    _check_mu_sizes(mu, N, M)
    check_scalar(tail_constant, "tail_constant", gt=0)
    mu = float(mu)
    try:
        scale = (float(tail_constant) * N * M) ** (2.0 / mu) / N
    except OverflowError:
        raise ValueError(
            f"the Fréchet scale (c·N·M)^(2/mu)/N overflows float64 for mu={mu}, N={N}, M={M}"
        ) from None
    return FrechetLaw(shape=mu / 2.0, scale=scale)


def max_entry_cdf(x: Any, mu: float, N: int, M: int) -> Float[Array, "..."]:
    """Exact cdf of ``max_ij w_ij²/N`` for N·M i.i.d. symmetric Pareto entries (unit scale).

    ``P(w² > y) = y^{−µ/2}`` for ``y >= 1``, so
    ``P(max w²/N <= x) = (1 − (N·x)^{−µ/2})^{N·M}`` for ``x >= 1/N`` (0 below). Since
    ``λ_max(WᵀW/N) >= max w²/N`` always, this cdf bounds that of λ_max from above.

    Args:
        x: evaluation points.
        mu: tail index (> 0).
        N, M: sizes (ints, N >= M).
    """
    _check_mu_sizes(mu, N, M)
    x = as_x(x)
    dt = x.dtype
    y = x * param(N, dt)
    pos = y > 1
    ys = jnp.where(pos, y, 2.0)
    val = jnp.exp(param(N * M, dt) * jnp.log1p(-(ys ** (-param(mu, dt) / 2))))
    return jnp.where(pos, val, 0.0)


@functools.partial(jax.jit, static_argnames=("N", "M", "mu", "convention", "dt"))
def _pareto_batch(keys, *, N, M, mu, convention, dt):
    W = jax.vmap(lambda k: pareto(k, (N, M), mu=mu, convention=convention, dtype=dt))(keys)
    return W, jnp.max(W * W, axis=(-2, -1)) / jnp.asarray(N, dt)


def _pareto_lmax(key, *, num, N, M, mu, convention, dt, batch):
    # Matrices drawn by XLA, batch by batch; eigenvalues by htrmt.esd (eigenvalues-only LAPACK
    # on CPU, XLA elsewhere).
    from ..spectra import esd

    keys = jax.random.split(key, num)
    lams, maxes = [], []
    for i in range(0, num, batch):
        W, mx = _pareto_batch(keys[i : i + batch], N=N, M=M, mu=mu, convention=convention, dt=dt)
        lams.append(esd(W)[..., -1])
        maxes.append(mx)
    return jnp.concatenate(lams), jnp.concatenate(maxes)


def pareto_largest_eigenvalues(
    key: jax.Array,
    num: int,
    N: int,
    M: int,
    *,
    mu: float,
    convention: str = "symmetric",
    dtype: Any = None,
    batch_size: int | None = None,
) -> Float[Array, " num"]:
    """Samples of λ_max of ``WᵀW/N`` for N×M Pareto W (``htrmt.ensembles.pareto``), dense.

    Each matrix is drawn and its M×M Gram matrix diagonalised (``eigvalsh``), batched with
    batches so that at most ~256 MiB of matrices exist at once.
    Compare with :func:`frechet_law` (µ < 4) or :func:`tw_scaling` (µ > 4); see
    :func:`edge_regime`. For µ < 1 use float64: the Gram matrix overflows float32.

    Args:
        key: a ``jax.random`` key.
        num: number of samples (>= 1).
        N, M: sizes (ints, N >= M >= 1).
        mu: tail index (> 0).
        convention: ``"symmetric"`` or ``"lomax"`` (see ``htrmt.ensembles.pareto``).
        dtype: real float dtype.
        batch_size: matrices per batch (default: a 256 MiB budget).

    Returns:
        Array of shape ``(num,)``.

    Raises:
        TypeError: non-integer sizes, bad key.
        ValueError: ``num <= 0``, ``N < M``, ``mu <= 0``, unknown convention.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.edge.pareto_largest_eigenvalues(jax.random.key(0), 20, 200, 100, mu=1.5)

    References:
        Auffinger, Ben Arous & Péché (2009); Martin & Mahoney (2021), JMLR 22(165), Sec. 5.
    """
    return _pareto_pair(key, num, N, M, mu, convention, dtype, batch_size)[0]


def _pareto_pair(key, num, N, M, mu, convention, dtype, batch_size):
    """(λ_max, max w²/N) from the same matrices (for tests and studies)."""
    from ._sampler import _batch

    key = check_key(key)
    check_int(num, "num", ge=1)
    _check_mu_sizes(mu, N, M)
    check_choice(convention, "convention", ("symmetric", "lomax"))
    dt = float_dtype(dtype)
    per = (N * M + 2 * M * M) * jnp.dtype(dt).itemsize
    return _pareto_lmax(
        key,
        num=num,
        N=N,
        M=M,
        mu=float(mu),
        convention=convention,
        dt=dt,
        batch=_batch(num, per, batch_size),
    )


@dataclasses.dataclass(frozen=True)
class EdgeRegime:
    """Predicted behaviour of λ_max of ``WᵀW/N`` for entries with tail index µ.

    Attributes:
        mu, N, M: the inputs.
        regime: ``"frechet"`` (µ < 4), ``"tracy_widom"`` (µ > 4) or ``"marginal"`` (µ = 4).
        exponent: predicted growth exponent of λ_max with N at fixed Q:
            ``4/µ − 1`` for µ < 4, 0 for µ >= 4 (λ_max → λ+).
        frechet: the Fréchet law of ``max w²/N`` (:func:`frechet_law`; also given for µ >= 4,
            where it describes the largest entry, no longer λ_max).
        variance: entry variance ``µ/(µ − 2)`` of the symmetric Pareto law (None for µ <= 2).
        lambda_plus: MP edge ``variance·(1 + 1/√Q)²`` (None for µ <= 2).
        tw: Johnstone centring and scaling with that variance (None for µ <= 2).
        frechet_to_edge: ``frechet.median()/lambda_plus``: above ~1 the largest entry, not the
            bulk edge, sets λ_max at this size (None for µ <= 2).
    """

    mu: float
    N: int
    M: int
    regime: str
    exponent: float
    frechet: FrechetLaw
    variance: float | None
    lambda_plus: float | None
    tw: TWScaling | None
    frechet_to_edge: float | None


def edge_regime(mu: float, N: int, M: int) -> EdgeRegime:
    """Which law governs λ_max of ``WᵀW/N`` for symmetric Pareto entries, and at which scale.

    The crossover is at µ = 4: below it λ_max is Fréchet with scale ``(N·M)^{2/µ}/N``
    (growth exponent ``4/µ − 1`` at fixed Q); above it λ_max sticks to the MP edge
    ``λ+ = σ²(1 + 1/√Q)²`` (σ² = µ/(µ−2)) with Tracy–Widom fluctuations of size ``~M^{−2/3}``
    and large finite-size corrections near µ = 4. ``frechet_to_edge`` tells, at the given size,
    whether the largest entry beats the bulk edge.

    Args:
        mu: tail index of the entries (> 0).
        N, M: sizes (ints, N >= M).

    Returns:
        :class:`EdgeRegime`.

    Example:
        >>> r = edge_regime(3.0, 1000, 1000)
        >>> r.regime, round(r.exponent, 4)
        ('frechet', 0.3333)

    References:
        Auffinger, Ben Arous & Péché (2009); Biroli, Bouchaud & Potters (2007), EPL 78, 10001;
        Martin & Mahoney (2021), JMLR 22(165), Table 2.
    """
    _check_mu_sizes(mu, N, M)
    mu = float(mu)
    if mu < 4:
        regime, exponent = "frechet", 4.0 / mu - 1.0
    elif mu > 4:
        regime, exponent = "tracy_widom", 0.0
    else:
        regime, exponent = "marginal", 0.0
    law = frechet_law(mu, N, M)
    var: float | None
    lp: float | None
    tw: TWScaling | None
    ratio: float | None
    if mu > 2:
        var = mu / (mu - 2.0)
        lp = var * (1.0 + math.sqrt(M / N)) ** 2
        tw = tw_scaling(N, M, beta=1, kind="johnstone", sigma=math.sqrt(var)) if N >= 2 else None
        ratio = law.median() / lp
    else:
        var = lp = tw = ratio = None
    return EdgeRegime(mu, N, M, regime, exponent, law, var, lp, tw, ratio)
