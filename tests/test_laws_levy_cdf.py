"""``levy.cdf`` and ``levy.sf``: against quadrature of the pdf, the exact tail law, sampled ESDs.

Settings are reduced (population 500, 2 runs) to keep the default tests fast; every tolerance is
derived from a sample size (DKW), from the propagated error estimate of the density, or from the
stated quadrature error.
"""

import math

import jax
import numpy as np
import pytest
from scipy import integrate

import htrmt as ht

L = ht.laws.levy
FAST = dict(population=500, runs=2, sweeps=(20, 20))


@pytest.mark.slow
def test_cdf_against_simpson_of_pdf():
    """F from the log-grid trapezoid rule == cumulative Simpson of the pdf on a linear grid."""
    mu, Q = 1.0, 2.0
    grid = np.linspace(0.0, 12.0, 161)
    rho = np.asarray(L.pdf(grid, mu, Q, N=None, **FAST), np.float64)
    d = L.density(grid, mu, Q, N=None, **FAST)
    F_simpson = integrate.cumulative_simpson(rho, x=grid, initial=0.0)
    pts = np.array([1.0, 3.0, 6.0, 12.0])
    F = np.asarray(L.cdf(pts, mu, Q, N=None, **FAST), np.float64)
    ref = np.interp(pts, grid, F_simpson)
    # the density's statistical error, integrated (both rules see independent grids), plus 3e-3
    # for the two quadratures (linear grid spacing 0.075 against the curvature near λ ~ 0.3).
    tol = 3 * float(np.trapezoid(np.asarray(d.error, np.float64), grid)) + 3e-3
    np.testing.assert_allclose(F, ref, rtol=0, atol=tol)


def test_sf_matches_exact_tail():
    """Wishart limit: P(λ̃ > x) ≈ x^(−µ/2) (leading term of the exact tail law)."""
    mu = 1.0
    x = np.array([100.0, 1000.0])
    S = np.asarray(L.sf(x, mu, 2.0, N=None, **FAST), np.float64)
    np.testing.assert_allclose(S * x ** (mu / 2), 1.0, rtol=0.05)


def test_cdf_against_sampled_esd():
    """Finite N: the cavity F at ESD quantiles against the empirical CDF of 8 sampled matrices."""
    N, Q, mu = 800, 2.0, 1.5
    keys = jax.random.split(jax.random.key(1), 8)
    lam = np.sort(
        np.concatenate(
            [np.asarray(ht.esd(ht.ensembles.pareto(k, (N, int(N // Q)), mu=mu))) for k in keys]
        )
    )
    x = np.quantile(lam, [0.05, 0.25, 0.5, 0.75, 0.95])
    F = np.asarray(L.cdf(x, mu, Q, N=N, **FAST), np.float64)
    ecdf = np.searchsorted(lam, x, side="right") / lam.size
    # DKW band at false-failure rate 1e-3 for n = 3200 eigenvalues (eigenvalues of one matrix
    # repel, which makes their empirical CDF less variable than that of i.i.d. draws).
    eps = math.sqrt(math.log(2 / 1e-3) / (2 * lam.size))
    assert np.max(np.abs(F - ecdf)) < eps


def test_wigner_cdf_symmetric_and_against_sample():
    N, mu = 600, 1.5
    keys = jax.random.split(jax.random.key(2), 4)
    s = N ** (0.5 - 1 / mu)
    lam = np.sort(
        np.concatenate(
            [
                s
                * np.linalg.eigvalsh(
                    np.asarray(ht.ensembles.wigner(k, (N, N), entries="pareto", mu=mu))
                )
                for k in keys
            ]
        )
    )
    x = np.quantile(lam, [0.1, 0.3, 0.7, 0.9])
    F = np.asarray(L.cdf(np.concatenate([x, -x, [0.0]]), mu, N=N, kind="wigner", **FAST))
    np.testing.assert_allclose(F[:4] + F[4:8], 1.0, atol=1e-12)
    assert F[8] == 0.5
    ecdf = np.searchsorted(lam, x, side="right") / lam.size
    eps = math.sqrt(math.log(2 / 1e-3) / (2 * lam.size))
    assert np.max(np.abs(F[:4] - ecdf)) < eps


def test_cdf_sf_shape_bounds_and_monotone():
    x = np.array([[-1.0, 0.0, 0.5], [2.0, 20.0, np.inf]])
    F = np.asarray(L.cdf(x, 1.0, 2.0, N=None, **FAST))
    S = np.asarray(L.sf(x, 1.0, 2.0, N=None, **FAST))
    assert F.shape == x.shape
    np.testing.assert_allclose(F + S, 1.0, atol=1e-12)
    flat = F.reshape(-1)
    assert flat[0] == 0.0 and flat[1] == 0.0 and flat[-1] == 1.0
    assert np.all(np.diff(flat[1:]) > 0)


def test_cdf_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        L.cdf(np.array([1.0, np.nan]), 1.0, 2.0, N=None)
    with pytest.raises(ValueError, match="points"):
        L.cdf(1.0, 1.0, 2.0, N=None, points=3)
    with pytest.raises(ValueError, match="mu"):
        L.cdf(1.0, 2.5, 2.0, N=None)
