"""Tracy–Widom centring and scaling of λ_max in the ``X = WᵀW/N`` normalisation."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import equinox as eqx

from .._checks import check_choice, check_int, check_scalar
from ..laws._common import check_beta

__all__ = ["TWScaling", "tw_scaling", "wigner_tw_scaling", "tw_standardize"]

KINDS = ("johnstone", "ma", "el_karoui")


class TWScaling(eqx.Module):
    """Centre and scale such that ``(λ_max − centre)/scale ≈ TW_β`` (unpacks as a pair).

    A pytree like every result of the package; ``centre, scale = tw_scaling(...)`` and
    ``s[0]``, ``s[1]`` still read it as the pair it used to be.
    """

    centre: float
    scale: float

    def __iter__(self) -> Iterator[float]:
        return iter((self.centre, self.scale))

    def __getitem__(self, i: int) -> float:
        return (self.centre, self.scale)[i]

    def __len__(self) -> int:
        return 2


def _mu(n: float, p: float) -> float:
    return (math.sqrt(n) + math.sqrt(p)) ** 2


def _sigma(n: float, p: float) -> float:
    rn, rp = math.sqrt(n), math.sqrt(p)
    return (rn + rp) * (1.0 / rn + 1.0 / rp) ** (1.0 / 3.0)


def tw_scaling(
    N: int, M: int, *, beta: float = 1, kind: str = "johnstone", sigma: float = 1.0
) -> TWScaling:
    """Tracy–Widom centring and scaling of λ_max of ``X = WᵀW/N`` (N×M Gaussian W, N >= M).

    With ``μ(n, p) = (√n + √p)²`` and ``s(n, p) = (√n + √p)(1/√n + 1/√p)^{1/3}`` (the
    centring and scaling of the unnormalised ``WᴴW`` with unit-variance entries), this returns
    ``centre = σ²·μ/N`` and ``scale = σ²·s/N`` with

    - ``kind="johnstone"``: β = 1, Johnstone (2001): ``μ(N−1, M)``, ``s(N−1, M)``;
      β = 2, Johansson (2000): ``μ(N, M)``, ``s(N, M)``; any other β > 0 (the β-Laguerre
      ensemble of the tridiagonal sampler): the leading order ``μ(N, M)``, ``s(N, M)``, with
      TW_β in the β-ensemble (stochastic Airy) convention — for β = 4 that is ``2^{−1/6}`` times
      the Tracy–Widom-convention TW4 variable (mean ≈ −2.055, not −2.307).
    - ``kind="ma"`` (β = 1 only): Ma (2012), ``μ(N − ½, M − ½)``, ``s(N − ½, M − ½)``, for which
      the TW1 approximation error is ``O(M^{−2/3})`` (second order).
    - ``kind="el_karoui"`` (β = 2 only): El Karoui (2006), second order for the complex case:
      the weighted combination ``γ·μ(N−½, M+½) + (1−γ)·μ(N+½, M−½)`` (same for s) with
      ``γ = 1/(1 + μ(N−½, M+½)/μ(N+½, M−½)·√(s(N−½, M+½)/s(N+½, M−½)))``, in the form
      used by the RMTstat package of Johnstone, Ma, Perry & Shahram. For Gaussian W it is
      numerically equivalent at second order to the plain ``μ(N, M)``, ``s(N, M)`` of
      ``kind="johnstone"`` with β = 2: the centres differ by −1.0e-3, −4.1e-4, −1.6e-4 and
      −6.5e-5 TW units at M = 25, 50, 100, 200 (Q = 2; −1.4e-3 … −8.5e-5 at Q = 1) and the
      scales by under 1e-5 relative, far below the ``O(M^{−2/3})`` error of the TW
      approximation itself. It is kept for agreement with RMTstat.

    In every case ``centre → λ+ = σ²(1 + 1/√Q)²`` and
    ``scale ≈ σ²·Q^{−1/2}(1 + Q^{−1/2})^{4/3}·M^{−2/3}``.

    Args:
        N: rows of W (int, >= M).
        M: columns of W (int, >= 1; >= 2 for ``kind="ma"``).
        beta: Dyson index (1 for ``"ma"``, 2 for ``"el_karoui"``, any > 0 for ``"johnstone"``).
        kind: ``"johnstone"``, ``"ma"`` or ``"el_karoui"``.
        sigma: entry standard deviation (``E|w|² = σ²``).

    Returns:
        :class:`TWScaling` ``(centre, scale)`` as Python floats.

    Raises:
        TypeError: non-integer sizes or β.
        ValueError: ``N < M``, sizes < 1, β not allowed for the kind, unknown kind, σ <= 0.

    Example:
        >>> c, s = tw_scaling(4000, 2000, beta=1, kind="ma")
        >>> round(c, 4), round(s, 6)
        (2.9137, 0.009088)

    References:
        Johnstone (2001), Ann. Statist. 29, 295, Thm 1.1.
        Johansson (2000), Comm. Math. Phys. 209, 437.
        Ma (2012), Bernoulli 18, 322, Thm 1.
        El Karoui (2006), Ann. Probab. 34, 2077.
    """
    check_int(N, "N", ge=1)
    check_int(M, "M", ge=1)
    if N < M:
        raise ValueError(f"N must be >= M, got N={N}, M={M}")
    check_choice(kind, "kind", KINDS)
    b = check_beta(beta)
    check_scalar(sigma, "sigma", gt=0)
    s2 = float(sigma) ** 2
    if kind == "johnstone":
        n = N - 1.0 if b == 1 else float(N)
        if n < 1:
            raise ValueError(f"N must be >= 2 for kind='johnstone' with beta=1, got N={N}")
        mu, sg = _mu(n, M), _sigma(n, M)
    elif kind == "ma":
        if b != 1:
            raise ValueError(
                f"kind='ma' is the real (beta=1) correction, got beta={beta!r}; "
                "use kind='el_karoui' for beta=2"
            )
        mu, sg = _mu(N - 0.5, M - 0.5), _sigma(N - 0.5, M - 0.5)
    else:
        if b != 2:
            raise ValueError(
                f"kind='el_karoui' is the complex (beta=2) correction, got beta={beta!r}; "
                "use kind='ma' for beta=1"
            )
        m1, m2 = _mu(N - 0.5, M + 0.5), _mu(N + 0.5, M - 0.5)
        s1, s2_ = _sigma(N - 0.5, M + 0.5), _sigma(N + 0.5, M - 0.5)
        g = 1.0 / (1.0 + (m1 / m2) * math.sqrt(s1 / s2_))
        mu, sg = g * m1 + (1 - g) * m2, g * s1 + (1 - g) * s2_
    return TWScaling(s2 * mu / N, s2 * sg / N)


def wigner_tw_scaling(N: int, *, sigma: float = 1.0) -> TWScaling:
    """Centre ``2σ`` and scale ``σ·N^{−2/3}`` of λ_max of a Wigner matrix (semicircle on ±2σ).

    ``(λ_max − 2σ)/(σN^{−2/3}) → TW_β`` for the GOE (β = 1) and GUE (β = 2) normalised as
    :func:`htrmt.ensembles.wigner`; for other β (tridiagonal sampler) in the β-ensemble
    convention.

    Example:
        >>> c, s = wigner_tw_scaling(1000)
        >>> c, round(s, 12)
        (2.0, 0.01)

    References:
        Tracy & Widom (1994), Comm. Math. Phys. 159, 151; (1996) 177, 727.
    """
    check_int(N, "N", ge=1)
    check_scalar(sigma, "sigma", gt=0)
    return TWScaling(2.0 * float(sigma), float(sigma) * N ** (-2.0 / 3.0))


def tw_standardize(
    lam: Any, N: int, M: int, *, beta: float = 1, kind: str = "johnstone", sigma: float = 1.0
) -> Any:
    """``(λ − centre)/scale`` with :func:`tw_scaling`; ``lam`` may be any array."""
    c, s = tw_scaling(N, M, beta=beta, kind=kind, sigma=sigma)
    return (lam - c) / s
