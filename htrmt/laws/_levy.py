"""Spectral densities of heavy-tailed (Lévy) random matrices: population dynamics on the cavity.

Two ensembles, both with symmetric Pareto entries ``P(|w| > x) = x^(-µ)`` (``x >= 1``), exactly as
``htrmt.ensembles.pareto`` samples them:

- ``kind="wishart"``: the ESD of ``X = WᵀW/N``, ``W`` of shape ``(N, M)``, ``M = N // Q``, in the
  units of ``htrmt.esd(htrmt.ensembles.pareto(key, (N, N // Q), mu=mu))``. No rescaling: for
  ``µ < 2`` the eigenvalues grow like ``N^(2/µ − 1)`` and the density returned is that of the
  finite-N problem, so it overlays a sampled histogram directly. ``N=None`` (``µ < 2`` only) gives
  the ``N → ∞`` limit in the rescaled variable ``λ̃ = λ · N^(1 − 2/µ)``.
- ``kind="wigner"``: the eigenvalue density of ``s_N · H`` with
  ``H = htrmt.ensembles.wigner(key, (N, N), entries="pareto", mu=mu)`` and
  ``s_N = N^(1/2 − 1/µ)`` for ``µ < 2`` (``s_N = 1`` for ``µ >= 2``, where ``H`` itself has a
  finite spectrum). ``N=None`` (``µ < 2``): the ``N → ∞`` Lévy limit of ``s_N H``.

Method (THEORY.md §3). On the tree that a dense heavy-tailed matrix looks like locally, the
diagonal resolvent entries obey the cavity recursion

    G = 1 / (z − d − Σ_k c_k G_k)                       (Wigner; c_k = H_ik², d = H_ii)

and, for ``X = WᵀW/N`` written as the Schur complement of ``[[I_N, W/√N], [Wᵀ/√N, z I_M]]``,
the bipartite pair (column side ``g``, whose mean is the Stieltjes transform of the ESD; row
side ``h``)

    g = 1 / (z − Σ_{a=1}^{N} c_a h_a),     h = 1 / (1 − Σ_{j=1}^{M} c_j g_j),     c = w²/N.

The laws of ``G`` (or ``g`` and ``h``) are represented by populations of ``population`` complex
numbers, updated in parallel sweeps. Each update draws the *largest* ``top`` couplings of the
``n`` neighbours exactly (order statistics of ``n`` i.i.d. Pareto variables through the Rényi
representation), pairs each with a random member of the other population, and replaces the
``n − top`` smaller couplings by their conditional mean times the population mean. That
replacement is an approximation controlled by ``top``, not exact (not even as ``N → ∞``): the
sum of the small terms is dominated by the couplings just below the cut, so its fluctuations,
which the mean leaves out, fall only slowly as ``top`` grows. Going from the default
``top = 16`` to 64 moved the density by up to 1 % (µ = 1, N → ∞, Wishart and Wigner), 2.5 %
(µ = 1.5, N = 500, in the bulk, within its statistical error) and 0.4 % (µ = 3, N = 500): a
few percent at most at the default. In the ``N → ∞`` limit for ``µ < 2`` the couplings
are the points ``(C/Γ_k)^(2/µ)`` of a Poisson process (``Γ_k`` the arrival times of a unit-rate
Poisson process). The density is ``ρ(λ) = −Im E[G(λ + iη)]/π``, measured at the broadenings
``η`` and ``2η`` (``η = eta · λ`` for Wishart, ``eta · max(|x|, 1)`` for Wigner) with common
random numbers and extrapolated linearly to ``η → 0`` (``ρ₀ = 2ρ(η) − ρ(2η)``, error ``O(η²)``).
The measurement averages over redraws of the largest coupling given the others (variance
reduction in the far tail). The statistical error is the standard error over ``runs``
independent population runs.

Tail laws (exact leading terms, checked by the tests): Wishart limit
``ρ(λ̃) ≈ (µ/2) λ̃^(−µ/2−1)``; Wigner limit ``ρ(x) ≈ (µ/2) 2^(1−µ/2) |x|^(−µ−1)``.

References:
    Cizeau & Bouchaud (1994), Phys. Rev. E 50, 1810; Burda, Jurkiewicz, Nowak, Papp & Zahed
    (2007), Phys. Rev. E 75, 051126; Belinschi, Dembo & Guionnet (2009), Commun. Math. Phys. 289,
    1023; Tarquini, Biroli & Tarzia (2016), Phys. Rev. Lett. 116, 010601 (population dynamics for
    Lévy matrices); Martin & Mahoney (2021), JMLR 22(165), Sec. 5 (universality classes).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .._checks import check_choice, check_int, check_key, check_scalar
from ._common import as_x

__all__ = [
    "LevyDensity",
    "cdf",
    "density",
    "pdf",
    "scale",
    "sf",
    "tail_amplitude",
    "tail_exponent",
]

KINDS = ("wishart", "wigner")


@dataclasses.dataclass(frozen=True)
class LevyDensity:
    """A heavy-tailed limiting (or finite-N cavity) density on a grid, with its error estimate.

    Attributes:
        x: evaluation points (the input grid, flattened).
        pdf: the density extrapolated to ``η → 0``.
        error: standard error of ``pdf`` over the independent population runs (statistical only; the
            ``O(η²)`` extrapolation bias is not included).
        pdf_eta: densities at the two broadenings, shape ``(2, len(x))`` (``η`` and ``2η``).
        eta: the two relative broadenings.
        mu, Q, N, kind: the ensemble (``Q`` is ``None`` for Wigner, ``N`` is ``None`` for the
            limit).
        population, top, runs, sweeps: the numerical settings.
    """

    x: np.ndarray
    pdf: np.ndarray
    error: np.ndarray
    pdf_eta: np.ndarray
    eta: tuple[float, float]
    mu: float
    Q: float | None
    N: int | None
    kind: str
    population: int
    top: int
    runs: int
    sweeps: tuple[int, int]


def tail_exponent(mu: float, kind: str = "wishart") -> float:
    """Exponent ``a`` of the density tail ``ρ ~ λ^(−a)``: ``µ/2 + 1`` (Wishart), ``µ + 1`` (Wigner).

    Example:
        >>> tail_exponent(1.0)
        1.5
    """
    check_scalar(mu, "mu", gt=0.0)
    check_choice(kind, "kind", KINDS)
    return float(mu) / 2 + 1 if kind == "wishart" else float(mu) + 1


def tail_amplitude(mu: float, kind: str = "wishart") -> float:
    """Amplitude ``A`` of the limiting tail ``ρ ≈ A λ^(−a)`` (µ < 2; ``N=None`` units).

    Wishart: ``A = µ/2`` (``P(λ̃ > x) ≈ x^(−µ/2)``, one eigenvalue per large entry). Wigner: ``A =
        (µ/2)
    2^(1−µ/2)`` per side (``ρ(x) = ρ(−x)``).
    """
    check_scalar(mu, "mu", gt=0.0, lt=2.0)
    check_choice(kind, "kind", KINDS)
    m = float(mu)
    return m / 2 if kind == "wishart" else m / 2 * 2 ** (1 - m / 2)


def scale(N: int, mu: float, kind: str = "wishart") -> float:
    """The factor from finite-N units to the ``N=None`` (limit) units of :func:`pdf`, for ``µ < 2``.

    Wishart: ``λ̃ = λ · N^(1 − 2/µ)``; Wigner: ``x̃ = x · N^(1/2 − 1/µ)`` (``x`` an eigenvalue of
    ``htrmt.ensembles.wigner(..., entries="pareto")``).
    """
    N = check_int(N, "N", ge=2)
    check_scalar(mu, "mu", gt=0.0, lt=2.0)
    check_choice(kind, "kind", KINDS)
    m = float(mu)
    return float(N) ** (1 - 2 / m) if kind == "wishart" else float(N) ** (0.5 - 1 / m)


# ----------------------------------------------------------------------------- couplings


def _top_pareto(key, shape, n, K, mu, dt):
    """The ``K`` largest of ``n`` i.i.d. ``|w|`` (``P(|w| > x) = x^-mu``), descending (Rényi)."""
    k1, k2 = jax.random.split(key)
    G = jnp.cumsum(jax.random.exponential(k1, (*shape, K), dt), axis=-1)
    # Gamma(n + 1 − K) by the Wilson–Hilferty cube (relative error < 1e-3 of its spread for a >= 1;
    # irrelevant here, where it only sets the overall scale n of the order statistics).
    a = n + 1.0 - K
    xi = jax.random.normal(k2, shape, dt)
    rest = a * jnp.maximum(1.0 - 1.0 / (9.0 * a) + xi / (3.0 * jnp.sqrt(a)), 1e-3) ** 3
    U = G / (G[..., -1:] + rest[..., None])
    return jnp.exp(-jnp.log(U) / mu)


def _m2_trunc(L, mu):
    """``E[w² | 1 <= |w| <= t]`` with ``L = log t`` (``mu = 2``: the limit ``2 log t``)."""
    a = 2.0 - mu
    small = jnp.abs(a) < 1e-6
    a_safe = jnp.where(small, 1.0, a)
    num = mu * jnp.where(small, L, jnp.expm1(a * L) / a_safe)
    Ls = jnp.where(L > 1e-12, L, 1.0)
    den = -jnp.expm1(-mu * Ls)
    return jnp.where(L > 1e-12, num / den, 1.0)


def _side_finite(key, P, n, K, mu, scale2, R, dt):
    """Couplings of a node with ``n`` neighbours: top ``K`` exactly, the rest as a mean coefficient,
    and ``R`` redraws of the largest from its law given the second (``U_(1) | U_(2) ~ U(0,
    U_(2))``)."""
    k1, k2 = jax.random.split(key)
    w = _top_pareto(k1, (P,), n, K, mu, dt)
    rem = (n - K) * scale2 * _m2_trunc(jnp.log(w[:, -1]), mu)
    w1 = w[:, 1:2] * jax.random.uniform(k2, (P, R), dt, minval=1e-30) ** (-1.0 / mu)
    return scale2 * w**2, rem, scale2 * w1**2


def _side_wigner_finite(key, P, N, K, mu, scale2, dscale, R, dt):
    """Wigner row of ``s_N (A + Aᵀ)/√(2N)``: the top ``K`` of the ``2(N−1)`` half-entries with
    random partners below the threshold, the other ``N−1−K`` neighbours as a mean, and the
    diagonal entry."""
    k1, k2, k3, k4, k5 = jax.random.split(key, 5)
    w = _top_pareto(k1, (P,), 2 * (N - 1), K, mu, dt)
    t = w[:, -1:]
    u = jax.random.uniform(k2, (P, K), dt)
    partner = (1.0 - u * (1.0 - t ** (-mu))) ** (-1.0 / mu)
    sign = jnp.where(jax.random.bernoulli(k3, 0.5, (P, K)), 1.0, -1.0).astype(dt)
    c = scale2 * (w + sign * partner) ** 2
    rem = (N - 1 - K) * scale2 * 2.0 * _m2_trunc(jnp.log(w[:, -1]), mu)
    kd1, kd2 = jax.random.split(k4)
    dmag = jnp.exp(jax.random.exponential(kd1, (P,), dt) / mu)
    dsign = jnp.where(jax.random.bernoulli(kd2, 0.5, (P,)), 1.0, -1.0).astype(dt)
    w1 = w[:, 1:2] * jax.random.uniform(k5, (P, R), dt, minval=1e-30) ** (-1.0 / mu)
    c1 = scale2 * (w1 + sign[:, :1] * partner[:, :1]) ** 2
    return c, rem, c1, dscale * dsign * dmag


def _side_limit(key, P, K, mu, C, R, dt):
    """Poisson-process couplings ``(C/Γ_k)^(2/µ)``, the mean of the points below the ``K``-th, and
    ``R`` redraws of the largest given the second (``Γ_1 | Γ_2 ~ U(0, Γ_2)``)."""
    k1, k2 = jax.random.split(key)
    G = jnp.cumsum(jax.random.exponential(k1, (P, K), dt), axis=-1)
    c = (C / G) ** (2.0 / mu)
    rem = C * (mu / 2) / (1 - mu / 2) * c[:, -1] ** (1 - mu / 2)
    c1 = c[:, 1:2] * jax.random.uniform(k2, (P, R), dt, minval=1e-30) ** (-2.0 / mu)
    return c, rem, c1


# ----------------------------------------------------------------------------- population dynamics


@functools.partial(jax.jit, static_argnames=("kind", "limit", "P", "K", "R", "warm", "meas"))
def _run(key, z, mu, Q, *, kind, limit, P, K, R, warm, meas, N, M):
    """``E[g](z)`` for every ``z`` of a chunk (common random numbers across ``z`` and chunks).

    The measured ``g`` of each member averages ``1/(z − d − Σ_{k>1} c_k h_k − c_1 h_1)`` over ``R``
    redraws of the largest coupling ``c_1`` given the others (a conditional expectation: same mean,
    smaller variance, which matters in the far tail where ``ρ`` comes from rare resonances ``c_1 ≈
    λ``).
    """
    rdt = z.real.dtype
    cdt = z.dtype

    def couplings(k):
        kc, kr = jax.random.split(k)
        if kind == "wigner":
            if limit:
                c, rem, c1 = _side_limit(kc, P, K, mu, 2.0 ** (1 - mu / 2), R, rdt)
                d = jnp.zeros((P,), rdt)
            else:
                sN = jnp.where(mu < 2, N ** (0.5 - 1 / mu), 1.0)
                c, rem, c1, d = _side_wigner_finite(
                    kc, P, N, K, mu, sN**2 / (2 * N), sN * jnp.sqrt(2.0 / N), R, rdt
                )
            return (c, rem, c1, d), None
        d = jnp.zeros((P,), rdt)
        if limit:
            col = _side_limit(kc, P, K, mu, jnp.asarray(1.0, rdt), R, rdt)
            row = _side_limit(kr, P, K, mu, 1.0 / Q, R, rdt)
        else:
            col = _side_finite(kc, P, N, K, mu, 1.0 / N, R, rdt)
            row = _side_finite(kr, P, M, K, mu, 1.0 / N, R, rdt)
        return (*col, d), row

    def one_z(zz):
        def make_sweep(measure):
            def sweep(carry, k):
                g, h = carry
                kc, ki, kj = jax.random.split(k, 3)
                col, row = couplings(kc)
                c, rem, c1, d = (a.astype(cdt) for a in col)
                src = g if kind == "wigner" else h
                idx = jax.random.randint(ki, c.shape, 0, P)
                terms = c * src[idx]
                base = zz - d - rem * jnp.mean(src)
                g_new = 1.0 / (base - jnp.sum(terms, -1))
                if measure:
                    rest = base - jnp.sum(terms[:, 1:], -1)
                    obs = jnp.mean(1.0 / (rest[:, None] - c1 * src[idx[:, :1]]))
                else:
                    obs = jnp.zeros((), cdt)
                if kind == "wigner":
                    return (g_new, h), obs
                c, rem, _ = (a.astype(cdt) for a in row)
                idx = jax.random.randint(kj, c.shape, 0, P)
                h = 1.0 / (1.0 - jnp.sum(c * g_new[idx], -1) - rem * jnp.mean(g_new))
                return (g_new, h), obs

            return sweep

        g0 = jnp.full((P,), -1j, cdt)
        h0 = jnp.full((P,), 1.0 - 0.1j, cdt)
        kw, km = jax.random.split(key)
        carry, _ = jax.lax.scan(make_sweep(False), (g0, h0), jax.random.split(kw, warm))
        _, means = jax.lax.scan(make_sweep(True), carry, jax.random.split(km, meas))
        return jnp.mean(means)

    return jax.vmap(one_z)(z)


def _check_args(mu, Q, N, kind, eta):
    check_choice(kind, "kind", KINDS)
    if N is None:
        check_scalar(mu, "mu", gt=0.0, lt=2.0)
    else:
        N = check_int(N, "N", ge=4)
        check_scalar(mu, "mu", gt=0.0)
    if kind == "wishart":
        if Q is None:
            raise ValueError("kind='wishart' needs the aspect ratio Q = N/M >= 1, got Q=None")
        check_scalar(Q, "Q", ge=1.0)
        if N is not None and N // Q < 2:
            raise ValueError(f"M = N // Q must be >= 2, got N={N}, Q={Q}")
    elif Q is not None:
        raise ValueError(f"kind='wigner' takes no aspect ratio, got Q={Q!r}")
    check_scalar(eta, "eta", gt=0.0)
    if float(eta) > 0.25:
        raise ValueError(f"eta must be <= 0.25 (a relative broadening), got eta={eta}")
    return N


def density(
    x: Any,
    mu: float,
    Q: float | None = None,
    *,
    N: int | None,
    kind: str = "wishart",
    eta: float = 0.02,
    population: int = 1000,
    top: int = 16,
    runs: int = 4,
    sweeps: tuple[int, int] = (30, 40),
    key: jax.Array | None = None,
    resample: int = 16,
    batch: int = 32,
) -> LevyDensity:
    """Heavy-tailed spectral density on the grid ``x`` with its error estimate (see the module).

    Args:
        x: evaluation points (any shape; flattened in the result). Wishart: ``x <= 0`` gives 0.
        mu: tail index of the entries: ``µ > 0`` for finite ``N`` (very heavy-tailed for µ < 2,
            moderately for 2 < µ < 4: MP-like bulk plus the finite-N power-law tail; for µ > 4 the
            finite-N tail on a Marchenko–Pastur bulk), ``0 < µ < 2`` for ``N=None``.
        Q: aspect ratio ``N/M >= 1`` (Wishart; ``M = N // Q``); must be ``None`` for Wigner.
        N: matrix size (rows of ``W``, or the Wigner size), or ``None`` for the ``N → ∞`` limit
            (``µ < 2``, rescaled units, see :func:`scale`).
        kind: ``"wishart"`` (``X = WᵀW/N``) or ``"wigner"``.
        eta: relative broadening ``η/max(|λ|, λ_ref)`` of the smaller of the two broadenings ``η,
            2η``
            extrapolated to 0; ``λ_ref = 0`` for Wishart (purely relative), 1 for Wigner.
        population: population size per run.
        top: number of largest couplings per node drawn exactly (>= 2); the rest enter through
            their mean, an approximation whose error (a few percent at most at 16) falls as
            ``top`` grows.
        resample: redraws of the largest coupling per member in the measurement (variance reduction
            in the far tail).
        runs: independent population runs (the error estimate is their standard error).
        sweeps: ``(warm-up, measurement)`` sweeps of the population.
        key: ``jax.random`` key (default ``jax.random.key(0)``: deterministic).
        batch: grid points processed together (memory ``~ batch · population · top``).

    Returns:
        A :class:`LevyDensity` (``.pdf`` and ``.error`` on ``x``).

    Raises:
        ValueError: µ outside its range (``µ <= 0``, not finite, ``µ >= 2`` with ``N=None``),
            ``eta <= 0`` or > 0.25, ``Q < 1``, ``Q`` given for Wigner, ``N`` too small, bad
            settings.
        TypeError: non-integer sizes, a non-key ``key``.

    Example:
        >>> import numpy as np, htrmt as ht
        >>> small = dict(population=256, runs=2, sweeps=(10, 10))  # quick, rough settings
        >>> d = ht.laws.levy.density(np.geomspace(1, 1e3, 5), 1.0, 2.0, N=None, **small)
        >>> d.pdf.shape
        (5,)

    References:
        Cizeau & Bouchaud (1994), PRE 50, 1810; Burda et al. (2007), PRE 75, 051126;
        Tarquini, Biroli & Tarzia (2016), PRL 116, 010601.
    """
    N = _check_args(mu, Q, N, kind, eta)
    population = check_int(population, "population", ge=16)
    top = check_int(top, "top", ge=2)
    resample = check_int(resample, "resample", ge=1)
    runs = check_int(runs, "runs", ge=2)
    batch = check_int(batch, "batch", ge=1)
    if not (isinstance(sweeps, tuple | list) and len(sweeps) == 2):
        raise ValueError(f"sweeps must be a pair (warm-up, measurement), got sweeps={sweeps!r}")
    warm = check_int(sweeps[0], "sweeps[0]", ge=1)
    meas = check_int(sweeps[1], "sweeps[1]", ge=1)
    key = jax.random.key(0) if key is None else check_key(key)
    if kind == "wigner" and N is not None and top > N - 2:
        raise ValueError(f"top must be <= N - 2 for a Wigner matrix, got top={top}, N={N}")
    q = 1.0 if Q is None else float(Q)  # Q is set for Wishart (checked above)
    if kind == "wishart" and N is not None and top > N // q:
        raise ValueError(f"top must be <= M = N // Q, got top={top}, N={N}, Q={Q}")
    xa = as_x(x)
    dt = xa.dtype
    cdt = jnp.complex128 if dt == jnp.float64 else jnp.complex64
    xf = np.asarray(xa, dtype=np.float64).reshape(-1)
    M = None if (kind == "wigner" or N is None) else int(N // q)
    mu_f = float(mu)
    # Wishart: purely relative broadening (λ > 0; for µ < 1 the ESD spans many decades).
    lam_ref = 0.0 if kind == "wishart" else 1.0
    pos = xf > 0 if kind == "wishart" else np.ones(xf.shape, bool)
    xs = xf[pos]
    out_eta = np.zeros((runs, 2, xf.size))
    if xs.size:
        eabs = float(eta) * np.maximum(np.abs(xs), lam_ref)
        zz = np.concatenate([xs + 1j * eabs, xs + 2j * eabs])
        mu_j = jnp.asarray(mu_f, dt)
        Q_j = jnp.asarray(1.0 if Q is None else float(Q), dt)
        nz = zz.size
        pad = -nz % batch  # fixed chunk shape: one compilation for any grid length
        zj = jnp.asarray(np.concatenate([zz, np.full(pad, zz[-1])]), cdt).reshape(-1, batch)
        for r, kr in enumerate(jax.random.split(key, runs)):
            G = jnp.concatenate(
                [
                    _run(
                        kr,
                        zc,
                        mu_j,
                        Q_j,
                        kind=kind,
                        limit=N is None,
                        P=population,
                        K=top,
                        R=resample,
                        warm=warm,
                        meas=meas,
                        N=jnp.asarray(0 if N is None else N, dt),
                        M=jnp.asarray(M or 0, dt),
                    )
                    for zc in zj
                ]
            )[:nz]
            rho = -np.asarray(G.imag, np.float64) / np.pi
            if not np.all(np.isfinite(rho)):
                raise ValueError(
                    "the population dynamics produced non-finite values; "
                    "increase eta or use float64"
                )
            out_eta[r, 0, pos] = rho[: xs.size]
            out_eta[r, 1, pos] = rho[xs.size :]
    ext = 2.0 * out_eta[:, 0] - out_eta[:, 1]
    return LevyDensity(
        x=xf.astype(dt),
        pdf=np.maximum(ext.mean(0), 0.0).astype(dt),
        error=(ext.std(0, ddof=1) / math.sqrt(runs)).astype(dt),
        pdf_eta=out_eta.mean(0).astype(dt),
        eta=(float(eta), 2 * float(eta)),
        mu=mu_f,
        Q=None if Q is None else float(Q),
        N=N,
        kind=kind,
        population=population,
        top=top,
        runs=runs,
        sweeps=(warm, meas),
    )


def pdf(
    x: Any,
    mu: float,
    Q: float | None = None,
    *,
    N: int | None,
    kind: str = "wishart",
    eta: float = 0.02,
    population: int = 1000,
    top: int = 16,
    runs: int = 4,
    sweeps: tuple[int, int] = (30, 40),
    key: jax.Array | None = None,
) -> Float[Array, "..."]:
    """Heavy-tailed spectral density ``ρ(x)`` (the ``.pdf`` of :func:`density`, shaped like ``x``).

    See :func:`density` for the arguments, the units and the error estimate.

    Example:
        >>> import numpy as np, htrmt as ht
        >>> small = dict(population=256, runs=2, sweeps=(10, 10))  # quick, rough settings
        >>> rho = ht.laws.levy.pdf(np.geomspace(1, 100, 8), 1.5, 2.0, N=1000, **small)
        >>> rho.shape
        (8,)
    """
    xa = as_x(x)
    d = density(
        xa,
        mu,
        Q,
        N=N,
        kind=kind,
        eta=eta,
        population=population,
        top=top,
        runs=runs,
        sweeps=sweeps,
        key=key,
    )
    return jnp.asarray(d.pdf.reshape(xa.shape), xa.dtype)


def _integrate(
    x: Any, mu: float, Q: float | None, *, N: int | None, kind: str, points: int, settings: dict
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(F(x), error of F, shape-preserved float64 x)`` by integrating :func:`density`.

    The density is evaluated on a geometric grid in ``|λ|`` from ``lo = 1e-4·min|x|`` to
    ``max|x|`` (``points`` nodes) merged with the ``|x|`` themselves, and integrated by the
    trapezoid rule in ``log|λ|`` (integrand ``|λ| ρ``); the piece below ``lo`` is ``lo·ρ(lo)/(1+s)``
    with ``s`` the local log-slope of ``ρ`` (a power law through the first two nodes). Wishart:
    ``F(x) = ∫_0^x ρ``; Wigner: ``F(x) = 1/2 + sign(x) ∫_0^|x| ρ`` (``ρ`` is even). The error is
    the propagated standard error of the density, summed with the same weights (conservative:
    full correlation).
    """
    check_int(points, "points", ge=8)
    xa = as_x(x)
    xf = np.asarray(xa, np.float64)
    flat = xf.reshape(-1)
    if not np.all(np.isfinite(flat) | np.isinf(flat)):
        raise ValueError("x must not contain NaN")
    ax = np.abs(flat)
    ax = (
        ax[(ax > 0) & np.isfinite(ax)] if kind == "wigner" else flat[(flat > 0) & np.isfinite(flat)]
    )
    F = np.zeros(flat.shape)
    E = np.zeros(flat.shape)
    if ax.size:
        lo, hi = 1e-4 * float(ax.min()), float(ax.max())
        grid = np.unique(np.concatenate([np.geomspace(lo, hi, points), ax]))
        d = density(grid, mu, Q, N=N, kind=kind, **settings)
        rho = np.asarray(d.pdf, np.float64)
        err = np.asarray(d.error, np.float64)
        t = np.log(grid)
        y, ye = grid * rho, grid * err
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(t))])
        cum_e = np.concatenate([[0.0], np.cumsum(0.5 * (ye[1:] + ye[:-1]) * np.diff(t))])
        if rho[0] > 0 and rho[1] > 0:
            slope = np.log(rho[1] / rho[0]) / (t[1] - t[0])
        else:
            slope = 0.0
        head = grid[0] * rho[0] / (1.0 + max(slope, -0.9))
        idx = np.searchsorted(grid, ax)
        part = dict(zip(ax.tolist(), (head + cum[idx]).tolist()))
        part_e = dict(zip(ax.tolist(), (grid[0] * err[0] + cum_e[idx]).tolist()))
    for i, v in enumerate(flat):
        if kind == "wishart":
            if v == np.inf:
                F[i] = 1.0
            elif v > 0:
                F[i], E[i] = part[v], part_e[v]
        else:
            if np.isinf(v):
                F[i] = 1.0 if v > 0 else 0.0
            elif v == 0:
                F[i] = 0.5
            else:
                F[i] = 0.5 + np.sign(v) * part[abs(v)]
                E[i] = part_e[abs(v)]
    return np.clip(F, 0.0, 1.0).reshape(xf.shape), E.reshape(xf.shape), xf


def cdf(
    x: Any,
    mu: float,
    Q: float | None = None,
    *,
    N: int | None,
    kind: str = "wishart",
    points: int = 96,
    eta: float = 0.02,
    population: int = 1000,
    top: int = 16,
    runs: int = 4,
    sweeps: tuple[int, int] = (30, 40),
    key: jax.Array | None = None,
) -> Float[Array, "..."]:
    """Distribution function ``F(x) = ∫_{−∞}^x ρ`` of the heavy-tailed spectral density.

    The density of :func:`density` is computed on a geometric grid of ``points`` nodes (merged with
    the ``|x|``) and integrated by the trapezoid rule in ``log|λ|``; Wishart: ``F(x) = ∫_0^x ρ``
    (0 for ``x <= 0``); Wigner: ``F(x) = 1/2 + sign(x)∫_0^{|x|} ρ``. The accuracy is that of the
    density (statistical error ``~ error`` of :func:`density`, summed over the grid) plus the
    quadrature error (below 1e-3 absolute at the default 96 nodes per ~7 decades). All points
    of ``x`` share one density evaluation, so pass them together.

    Args:
        x: evaluation points (any shape).
        mu, Q, N, kind: the ensemble, as in :func:`density`.
        points: grid nodes of the quadrature (>= 8).
        eta, population, top, runs, sweeps, key: the settings of :func:`density`.

    Returns:
        ``F(x)`` in ``[0, 1]``, shaped like ``x``, with its dtype.

    Raises:
        ValueError: as :func:`density`; NaN in ``x``; ``points < 8``.

    Example:
        >>> import numpy as np, htrmt as ht
        >>> small = dict(population=256, runs=2, sweeps=(10, 10))  # quick, rough settings
        >>> F = ht.laws.levy.cdf(np.array([1.0, 10.0, 100.0]), 1.0, 2.0, N=None, **small)
        >>> bool(np.all(np.diff(np.asarray(F)) > 0))
        True
    """
    xa = as_x(x)
    settings = dict(eta=eta, population=population, top=top, runs=runs, sweeps=sweeps, key=key)
    F, _, _ = _integrate(xa, mu, Q, N=N, kind=kind, points=points, settings=settings)
    return jnp.asarray(F, xa.dtype)


def sf(
    x: Any,
    mu: float,
    Q: float | None = None,
    *,
    N: int | None,
    kind: str = "wishart",
    points: int = 96,
    eta: float = 0.02,
    population: int = 1000,
    top: int = 16,
    runs: int = 4,
    sweeps: tuple[int, int] = (30, 40),
    key: jax.Array | None = None,
) -> Float[Array, "..."]:
    """Survival function ``1 − F(x)`` (see :func:`cdf`; absolute, not relative, accuracy).

    Example:
        >>> import numpy as np, htrmt as ht
        >>> x = np.array([2.0, 20.0])
        >>> kw = dict(N=None, population=256, runs=2, sweeps=(10, 10))
        >>> F, S = ht.laws.levy.cdf(x, 1.0, 2.0, **kw), ht.laws.levy.sf(x, 1.0, 2.0, **kw)
        >>> bool(np.allclose(np.asarray(F) + np.asarray(S), 1.0))
        True
    """
    F = cdf(
        x,
        mu,
        Q,
        N=N,
        kind=kind,
        points=points,
        eta=eta,
        population=population,
        top=top,
        runs=runs,
        sweeps=sweeps,
        key=key,
    )
    return 1.0 - F
