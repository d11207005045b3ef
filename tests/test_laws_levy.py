"""Heavy-tailed (Lévy) spectral densities by population dynamics on the cavity recursion.

References used: direct diagonalisation of sampled matrices (htrmt.ensembles + eigvalsh) and the
    exact
leading tail laws (Wishart ρ ≈ (µ/2) λ^(−µ/2−1), Wigner ρ ≈ (µ/2) 2^(1−µ/2) |x|^(−µ−1)).
Settings are reduced (population 500, 2–3 runs) to keep the default tests fast; every statistical
tolerance below is derived from a sample size or from the reported error estimate.
"""

import math

import jax
import numpy as np
import pytest

import htrmt as ht

L = ht.laws.levy
FAST = dict(population=500, runs=3, sweeps=(20, 30))


def _cdf_on_grid(grid, dens):
    return np.concatenate([[0.0], np.cumsum(np.diff(grid) * (dens[1:] + dens[:-1]) / 2)])


def _ks_window(lam, grid, dens):
    """KS distance between the ESD and the cavity CDF on the grid window (mass below the window is
    taken from the sample, so only the shape inside the window is compared)."""
    lam = np.sort(np.asarray(lam, np.float64))
    n = lam.size
    F = _cdf_on_grid(grid, dens)
    below = np.searchsorted(lam, grid[0]) / n
    inw = lam[(lam >= grid[0]) & (lam <= grid[-1])]
    Fc = below + np.interp(inw, grid, F)
    i = np.arange(1, inw.size + 1)
    return max(np.max(np.abs(below + i / n - Fc)), np.max(np.abs(below + (i - 1) / n - Fc)))


def _esd_many(key, N, Q, mu, reps):
    M = int(N // Q)
    keys = jax.random.split(key, reps)
    return np.concatenate([np.asarray(ht.esd(ht.ensembles.pareto(k, (N, M), mu=mu))) for k in keys])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(mu=0.0, Q=2.0, N=100), "mu"),
        (dict(mu=-1.0, Q=2.0, N=100), "mu"),
        (dict(mu=float("nan"), Q=2.0, N=100), "mu"),
        (dict(mu=float("inf"), Q=2.0, N=100), "mu"),
        (dict(mu=2.5, Q=2.0, N=None), "mu"),  # the limit exists only for µ < 2
        (dict(mu=1.0, Q=2.0, N=100, eta=0.0), "eta"),
        (dict(mu=1.0, Q=2.0, N=100, eta=-0.1), "eta"),
        (dict(mu=1.0, Q=0.5, N=100), "Q"),
        (dict(mu=1.0, Q=None, N=100), "Q"),
        (dict(mu=1.0, Q=2.0, N=100, kind="wigner"), "Q"),
        (dict(mu=1.0, Q=2.0, N=100, kind="levy"), "kind"),
        (dict(mu=1.0, Q=2.0, N=40, top=32), "top"),
    ],
)
def test_bad_input(kwargs, match):
    kw = dict(kwargs)
    mu, Q = kw.pop("mu"), kw.pop("Q")
    with pytest.raises(ValueError, match=match):
        L.density([1.0, 2.0], mu, Q, **kw)


def test_bad_types():
    with pytest.raises(TypeError, match="N"):
        L.density([1.0], 1.0, 2.0, N=100.0)
    with pytest.raises(TypeError, match="key"):
        L.density([1.0], 1.0, 2.0, N=100, key=3)
    with pytest.raises(TypeError, match="complex"):
        L.density(np.array([1.0 + 1j]), 1.0, 2.0, N=100)


@pytest.mark.slow
def test_wishart_finite_n_matches_sampled_esd(key):
    # 4 matrices 1000×500, µ = 1.5: 2000 eigenvalues. Tolerance: the 1% critical value of the KS
    # statistic, 1.63/√n (conservative: eigenvalues are more regular than i.i.d. draws), plus the
    # CDF's statistical error from the run-to-run spread (3σ, summed over the grid).
    N, Q, mu = 1000, 2.0, 1.5
    lam = _esd_many(key, N, Q, mu, 4)
    grid = np.geomspace(np.quantile(lam, 0.002), np.quantile(lam, 0.995), 48)
    d = L.density(grid, mu, Q, N=N, **FAST)
    cdf_err = 3 * np.sum(np.diff(grid) * (d.error[1:] + d.error[:-1]) / 2)
    ks = _ks_window(lam, grid, d.pdf)
    assert ks < 1.63 / math.sqrt(lam.size) + cdf_err, (ks, cdf_err)
    assert d.pdf.shape == grid.shape and np.all(d.pdf >= 0)


@pytest.mark.slow
def test_limit_distance_falls_with_n_and_finite_n_law_is_closer(key):
    # Same number of eigenvalues (1600) at N = 100 (32 matrices) and N = 1600 (2 matrices), in the
    # limit units λ·N^(1−2/µ). The sampled ESD approaches the N → ∞ law as N grows, and at small N
    # the
    # finite-N cavity law (same units) is closer than the limit: the N-dependence is captured.
    mu, Q = 1.5, 2.0
    grid = np.geomspace(0.02, 300, 64)
    lim = L.density(grid, mu, Q, N=None, **FAST)
    out = {}
    for N, reps in ((100, 32), (1600, 2)):
        s = L.scale(N, mu)
        lam = _esd_many(jax.random.fold_in(key, N), N, Q, mu, reps) * s
        fin = L.density(grid / s, mu, Q, N=N, **FAST)
        out[N] = (_ks_window(lam, grid, lim.pdf), _ks_window(lam, grid, fin.pdf / s), lam.size)
    crit = 1.63 / math.sqrt(out[100][2])
    assert out[1600][0] < out[100][0], out
    assert out[100][1] < out[100][0], out
    assert out[100][1] < crit and out[1600][1] < crit, out


@pytest.mark.parametrize("kind", ["wishart", pytest.param("wigner", marks=pytest.mark.slow)])
def test_limit_tail_law(kind):
    # µ = 1: ρ/(A λ^(−a)) → 1. Allowed deviation: 3× the reported standard error plus the size of
    # the
    # first correction, λ^(−µ/2) for Wishart (the O(1) shift of a large-entry eigenvalue by the
    # rest of
    # its row and column, whose mean diverges for µ < 2) and λ^(−µ) for Wigner.
    mu = 1.0
    x = np.geomspace(30.0, 1000.0, 6)
    Q = 2.0 if kind == "wishart" else None
    d = L.density(x, mu, Q, N=None, kind=kind, population=1000, runs=4, sweeps=(20, 30))
    ratio = d.pdf / (L.tail_amplitude(mu, kind) * x ** (-L.tail_exponent(mu, kind)))
    corr = x ** (-mu / 2) if kind == "wishart" else x ** (-mu)
    tol = 3 * d.error / d.pdf + corr
    assert np.all(np.abs(ratio - 1) < tol), (ratio, tol)


def test_tail_exponent_and_amplitude_values():
    assert L.tail_exponent(1.0) == 1.5
    assert L.tail_exponent(1.0, "wigner") == 2.0
    assert L.tail_amplitude(1.0) == 0.5
    assert math.isclose(L.tail_amplitude(1.0, "wigner"), 0.5 * math.sqrt(2))
    assert math.isclose(L.scale(100, 1.0), 0.01)
    with pytest.raises(ValueError, match="mu"):
        L.tail_amplitude(2.5)


def test_deterministic_dtype_and_float32_agrees():
    x = np.geomspace(2.0, 50.0, 5)
    a = L.density(x, 1.5, 2.0, N=500, **FAST)
    b = L.density(x, 1.5, 2.0, N=500, **FAST)
    np.testing.assert_array_equal(a.pdf, b.pdf)
    c = L.density(x.astype(np.float32), 1.5, 2.0, N=500, **FAST)
    assert c.pdf.dtype == np.float32 and a.pdf.dtype == np.float64
    # Same random numbers in both precisions: agreement to a few float32 ulps of the dynamics,
    # far below the statistical error (checked against 3σ so the test is about precision, not
    # noise).
    assert np.all(np.abs(c.pdf - a.pdf) < 3 * a.error + 1e-4 * a.pdf)
    p = L.pdf(x.reshape(5, 1), 1.5, 2.0, N=500, **FAST)
    assert p.shape == (5, 1)
    np.testing.assert_allclose(np.asarray(p).ravel(), a.pdf)


def test_wishart_nonpositive_points_are_zero():
    d = L.density(np.array([-1.0, 0.0, 5.0]), 1.5, 2.0, N=500, **FAST)
    assert d.pdf[0] == 0 and d.pdf[1] == 0 and d.pdf[2] > 0


@pytest.mark.slow
def test_wigner_finite_n_matches_sampled(key):
    # 3 Pareto Wigner matrices N = 1000, µ = 1.5, rescaled by N^(1/2−1/µ): 3000 eigenvalues; KS on
    # [-6, 6] with the 1% critical value 1.63/√n plus the cavity CDF's 3σ error.
    N, mu = 1000, 1.5
    keys = jax.random.split(key, 3)
    s = N ** (0.5 - 1 / mu)
    ev = np.concatenate(
        [
            np.linalg.eigvalsh(np.asarray(ht.ensembles.wigner(k, (N, N), entries="pareto", mu=mu)))
            * s
            for k in keys
        ]
    )
    grid = np.linspace(-6, 6, 97)
    d = L.density(grid, mu, N=N, kind="wigner", **FAST)
    cdf_err = 3 * np.sum(np.diff(grid) * (d.error[1:] + d.error[:-1]) / 2)
    ks = _ks_window(ev, grid, d.pdf)
    assert ks < 1.63 / math.sqrt(ev.size) + cdf_err, (ks, cdf_err)


@pytest.mark.slow
@pytest.mark.parametrize("mu", [3.0, 5.0])
def test_moderately_and_weakly_heavy_tailed_finite_n(key, mu):
    # µ > 2: the finite-N ESD (MP-like bulk with a power-law tail) at N = 1000, Q = 2.
    N, Q = 1000, 2.0
    lam = _esd_many(key, N, Q, mu, 4)
    grid = np.geomspace(np.quantile(lam, 0.002), np.quantile(lam, 0.999), 64)
    d = L.density(grid, mu, Q, N=N, **FAST)
    cdf_err = 3 * np.sum(np.diff(grid) * (d.error[1:] + d.error[:-1]) / 2)
    assert _ks_window(lam, grid, d.pdf) < 1.63 / math.sqrt(lam.size) + cdf_err
