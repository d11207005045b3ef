"""Heavy-tailed edges: Fréchet law, exact max-entry law, λ_max of Pareto matrices, regimes."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import htrmt as ht
from htrmt.edge._heavy import _pareto_pair


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_frechet_law_against_scipy(dtype):
    law = ht.edge.FrechetLaw(shape=0.75, scale=3.0, loc=0.5)
    ref = st.invweibull(c=0.75, scale=3.0, loc=0.5)
    x = jnp.asarray(np.geomspace(0.6, 1e4, 50), dtype)
    rtol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(law.cdf(x), ref.cdf(np.asarray(x, float)), rtol=rtol)
    np.testing.assert_allclose(law.sf(x), ref.sf(np.asarray(x, float)), rtol=10 * rtol)
    np.testing.assert_allclose(law.pdf(x), ref.pdf(np.asarray(x, float)), rtol=10 * rtol)
    assert law.cdf(x).dtype == dtype
    p = jnp.asarray([0.01, 0.3, 0.5, 0.99], dtype)
    np.testing.assert_allclose(law.ppf(p), ref.ppf(np.asarray(p, float)), rtol=10 * rtol)
    np.testing.assert_allclose(law.cdf(law.ppf(p)), p, rtol=10 * rtol)
    assert float(law.cdf(jnp.asarray(0.5, dtype))) == 0.0 and float(law.pdf(-1.0)) == 0.0
    np.testing.assert_allclose(law.median(), ref.median(), rtol=1e-13)
    assert law.mean() == math.inf
    assert ht.edge.FrechetLaw(shape=3.0, scale=2.0).mean() == pytest.approx(
        st.invweibull(c=3.0, scale=2.0).mean(), rel=1e-13
    )
    # jit == eager; pdf is the derivative of cdf
    np.testing.assert_allclose(jax.jit(law.cdf)(x), law.cdf(x), rtol=rtol)
    g = jax.vmap(jax.grad(lambda t: law.cdf(t)))(jnp.asarray([1.0, 2.0, 10.0]))
    np.testing.assert_allclose(g, law.pdf(jnp.asarray([1.0, 2.0, 10.0])), rtol=1e-12)


def test_frechet_sample(key):
    law = ht.edge.FrechetLaw(shape=1.2, scale=5.0)
    x = np.asarray(law.sample(key, (5000,)))
    # KS p > 0.01: false-failure rate 1%
    assert st.kstest(x, lambda t: np.asarray(law.cdf(t))).pvalue > 0.01


def test_frechet_law_scale():
    law = ht.edge.frechet_law(1.0, 100, 100)
    assert law.shape == 0.5 and law.scale == pytest.approx(1e6, rel=1e-13)
    for mu in (0.8, 1.5, 3.0):
        for N, M in ((500, 500), (2000, 500)):
            law = ht.edge.frechet_law(mu, N, M)
            assert law.scale == pytest.approx((N * M) ** (2 / mu) / N, rel=1e-12)
    # Q = 1: N^{4/µ−1}
    assert ht.edge.frechet_law(2.5, 1000, 1000).scale == pytest.approx(1000 ** (4 / 2.5 - 1))
    assert ht.edge.frechet_law(2.0, 10, 10, tail_constant=4.0).scale == pytest.approx(40.0)


def test_max_entry_law_and_lambda_max(getkey):
    # exact law of max w²/N against samples (KS, false-failure rate 1%), and the deterministic
    # bound λ_max >= max w²/N on the same matrices
    N = M = 60
    for mu in (1.0, 3.0):
        lam, mx = (
            np.asarray(v) for v in _pareto_pair(getkey(), 600, N, M, mu, "symmetric", None, None)
        )
        assert np.all(lam >= mx * (1 - 1e-12))
        cdf = lambda t, mu=mu: np.asarray(ht.edge.max_entry_cdf(t, mu, N, M))
        assert st.kstest(mx, cdf).pvalue > 0.01
        # the exact law converges to the Fréchet limit
        law = ht.edge.frechet_law(mu, N, M)
        q = np.asarray(law.ppf(jnp.asarray([0.1, 0.5, 0.9])))
        np.testing.assert_allclose(cdf(q), [0.1, 0.5, 0.9], atol=2e-3)


def test_lambda_max_is_frechet_for_small_mu(getkey):
    # µ = 1: λ_max·(Fréchet scale)^{-1} follows Fréchet(µ/2) already at N=M=100.
    # KS at 800 samples, p > 0.01: false-failure rate 1%.
    mu, N = 1.0, 100
    lam = np.asarray(ht.edge.pareto_largest_eigenvalues(getkey(), 800, N, N, mu=mu))
    law = ht.edge.frechet_law(mu, N, N)
    assert st.kstest(lam, lambda t: np.asarray(law.cdf(t))).pvalue > 0.01
    # the test has power: shape µ/2 ± 50% is rejected
    for f in (0.5, 1.5):
        wrong = ht.edge.FrechetLaw(shape=f * mu / 2, scale=law.scale)
        assert st.kstest(lam, lambda t, w=wrong: np.asarray(w.cdf(t))).pvalue < 1e-4


def test_frechet_approximation_improves_with_N(getkey):
    # µ = 1.5: λ_max/(max w²/N) → 1; its median excess over 1 shrinks as N grows
    # (measured ≈ 0.044 at N=50, 0.009 at N=150; sampling error of a median of 300 draws is
    # far smaller than that gap)
    excess = []
    for N in (40, 120):
        lam, mx = _pareto_pair(getkey(), 300, N, N, 1.5, "symmetric", None, None)
        excess.append(float(np.median(np.asarray(lam) / np.asarray(mx))) - 1.0)
    assert excess[1] < 0.5 * excess[0]


def test_pareto_sampler_dtype_and_lomax(key):
    for dt in (jnp.float32, jnp.float64):
        lam = ht.edge.pareto_largest_eigenvalues(key, 4, 30, 20, mu=3.0, dtype=dt)
        assert lam.dtype == dt and lam.shape == (4,)
    lam = ht.edge.pareto_largest_eigenvalues(key, 4, 30, 20, mu=3.0, convention="lomax")
    W = jax.vmap(lambda k: ht.ensembles.pareto(k, (30, 20), mu=3.0, convention="lomax"))(
        jax.random.split(key, 4)
    )
    np.testing.assert_allclose(np.asarray(lam), np.asarray(ht.esd(W))[:, -1], rtol=1e-12)


def test_edge_regime_crossover():
    below = ht.edge.edge_regime(3.0, 1000, 1000)
    assert below.regime == "frechet" and below.exponent == pytest.approx(1 / 3)
    assert below.lambda_plus == pytest.approx(3.0 * 4.0) and below.tw is not None
    above = ht.edge.edge_regime(5.0, 1000, 500)
    assert above.regime == "tracy_widom" and above.exponent == 0.0
    assert above.lambda_plus == pytest.approx(5 / 3 * (1 + math.sqrt(0.5)) ** 2)
    assert above.tw.centre == pytest.approx(
        ht.edge.tw_scaling(1000, 500, sigma=math.sqrt(5 / 3)).centre
    )
    assert ht.edge.edge_regime(4.0, 100, 100).regime == "marginal"
    vh = ht.edge.edge_regime(1.5, 100, 100)
    assert vh.lambda_plus is None and vh.tw is None and vh.exponent == pytest.approx(4 / 1.5 - 1)
    # the largest entry dominates the bulk edge more and more as N grows for µ < 4
    r = [ht.edge.edge_regime(3.0, n, n).frechet_to_edge for n in (100, 10_000, 1_000_000)]
    assert r[0] < r[1] < r[2] and r[2] > 1
    r = [ht.edge.edge_regime(6.0, n, n).frechet_to_edge for n in (100, 10_000, 1_000_000)]
    assert r[0] > r[1] > r[2]


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda k: ht.edge.pareto_largest_eigenvalues(k, 0, 10, 5, mu=2.0), ValueError, "num"),
        (lambda k: ht.edge.pareto_largest_eigenvalues(k, 3, 5, 10, mu=2.0), ValueError, "N"),
        (lambda k: ht.edge.pareto_largest_eigenvalues(k, 3, 10, 5, mu=-1.0), ValueError, "mu"),
        (lambda k: ht.edge.pareto_largest_eigenvalues(k, 3, 10, 5.0, mu=2.0), TypeError, "M"),
        (lambda k: ht.edge.frechet_law(0.0, 10, 5), ValueError, "mu"),
        (lambda k: ht.edge.edge_regime(2.0, 5, 10), ValueError, "N must be >= M"),
        (lambda k: ht.edge.FrechetLaw(shape=-1.0, scale=1.0), ValueError, "shape"),
        (lambda k: ht.edge.FrechetLaw(shape=1.0, scale=1.0).ppf(1.5), ValueError, "p"),
    ],
)
def test_bad_input(key, call, exc, match):
    with pytest.raises(exc, match=match):
        call(key)
