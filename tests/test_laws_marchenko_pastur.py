"""Marchenko–Pastur, semicircle, quarter circle: against quadrature, scipy and sampling."""

import math

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import scipy.integrate as si
import scipy.stats as st

import htrmt as ht

MP = ht.laws.marchenko_pastur
SC = ht.laws.semicircle
QC = ht.laws.quarter_circle


@pytest.mark.parametrize("Q, sigma", [(1.0, 1.0), (2.0, 1.0), (4.0, 0.7), (10.0, 2.0)])
def test_mp_pdf_normalised_and_mean(Q, sigma):
    lo, hi = (float(v) for v in MP.edges(Q, sigma))
    f = lambda x: float(MP.pdf(x, Q, sigma))
    total = si.quad(f, lo, hi, limit=400)[0]
    mean = si.quad(lambda x: x * f(x), lo, hi, limit=400)[0]
    np.testing.assert_allclose(total, 1.0, atol=1e-7 if Q == 1 else 1e-10)
    np.testing.assert_allclose(mean, sigma**2, rtol=1e-8)


@pytest.mark.parametrize("Q, sigma", [(1.0, 1.0), (1.5, 1.0), (4.0, 0.7)])
def test_mp_cdf_against_mpmath_quadrature(Q, sigma):
    lo, hi = (float(v) for v in MP.edges(Q, sigma))
    mpmath.mp.dps = 30
    s2, y = mpmath.mpf(sigma) ** 2, 1 / mpmath.mpf(Q)
    a, b = s2 * (1 - mpmath.sqrt(y)) ** 2, s2 * (1 + mpmath.sqrt(y)) ** 2
    dens = lambda t: mpmath.sqrt((b - t) * (t - a)) / (2 * mpmath.pi * y * t * s2)
    for x in np.linspace(lo, hi, 9)[1:-1]:
        ref = mpmath.quad(dens, [a, mpmath.mpf(x)])
        np.testing.assert_allclose(float(MP.cdf(x, Q, sigma)), float(ref), atol=1e-13)
    assert float(MP.cdf(lo - 1e-3, Q, sigma)) == 0.0
    assert float(MP.cdf(hi + 1e-3, Q, sigma)) == 1.0
    np.testing.assert_allclose(
        float(MP.sf(0.5 * (lo + hi), Q, sigma)), 1 - float(MP.cdf(0.5 * (lo + hi), Q, sigma))
    )


def test_mp_cdf_derivative_is_pdf():
    x = jnp.linspace(0.2, 2.7, 50)
    g = jax.vmap(jax.grad(lambda t: MP.cdf(t, 2.0, 1.0)))(x)
    np.testing.assert_allclose(g, MP.pdf(x, 2.0, 1.0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(MP.logpdf(x, 2.0), np.log(np.asarray(MP.pdf(x, 2.0))), rtol=1e-12)
    assert float(MP.logpdf(5.0, 2.0)) == -np.inf


@pytest.mark.parametrize("Q, sigma", [(1.0, 1.0), (3.0, 2.0)])
def test_mp_ppf_roundtrip(Q, sigma):
    p = jnp.linspace(0.001, 0.999, 37)
    np.testing.assert_allclose(MP.cdf(MP.ppf(p, Q, sigma), Q, sigma), p, atol=1e-13)
    lo, hi = MP.edges(Q, sigma)
    np.testing.assert_allclose(MP.ppf(jnp.array([0.0, 1.0]), Q, sigma), [lo, hi], atol=1e-12)


@pytest.mark.parametrize("Q, sigma", [(1.0, 1.0), (2.0, 1.5), (5.0, 0.5)])
def test_mp_moments_against_quadrature(Q, sigma):
    lo, hi = (float(v) for v in MP.edges(Q, sigma))
    raw = [
        si.quad(lambda x: x**k * float(MP.pdf(x, Q, sigma)), lo, hi, limit=400)[0]
        for k in (1, 2, 3, 4)
    ]
    for k in (1, 2, 3, 4):
        np.testing.assert_allclose(MP.moment(k, Q, sigma), raw[k - 1], rtol=1e-6)
    y = 1 / Q
    np.testing.assert_allclose(
        MP.moments(Q, sigma), (sigma**2, y * sigma**4, math.sqrt(y), y - 1), rtol=1e-12
    )


def test_mp_jit_vmap_dtype():
    x32 = jnp.linspace(0.1, 3.0, 11, dtype=jnp.float32)
    for f in (MP.pdf, MP.cdf, MP.logpdf):
        assert f(x32, 2.0).dtype == jnp.float32
        np.testing.assert_allclose(
            f(x32, 2.0), f(x32.astype(jnp.float64), 2.0), rtol=2e-5, atol=2e-6
        )
    x = jnp.linspace(0.1, 3.0, 11)
    np.testing.assert_allclose(jax.jit(MP.cdf)(x, 2.0, 1.0), MP.cdf(x, 2.0, 1.0), rtol=1e-14)
    Qs = jnp.array([1.0, 2.0, 4.0])
    vm = jax.vmap(lambda q: MP.cdf(x, q, 1.0))(Qs)
    loop = jnp.stack([MP.cdf(x, float(q), 1.0) for q in Qs])
    np.testing.assert_allclose(vm, loop, rtol=1e-13)
    assert MP.cdf(np.arange(4), 2.0).dtype == jnp.float64  # ints promote to float


def test_mp_sample_ks(key):
    s = MP.sample(key, (4000,), 2.0, 1.0)
    p = st.kstest(np.asarray(s), lambda t: np.asarray(MP.cdf(t, 2.0))).pvalue
    assert p > 1e-3  # false-failure rate 1e-3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: MP.pdf(1.0, 0.5), "Q must be >= 1"),
        (lambda: MP.cdf(1.0, 2.0, sigma=0.0), "sigma"),
        (lambda: MP.edges(float("nan")), "Q must be finite"),
        (lambda: MP.ppf(1.5, 2.0), "p must be <= 1"),
        (lambda: MP.ppf(-0.1, 2.0), "p must be >= 0"),
        (lambda: SC.pdf(0.0, sigma=-1.0), "sigma"),
    ],
)
def test_mp_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_mp_complex_input_rejected():
    with pytest.raises(TypeError, match="complex"):
        MP.pdf(np.array([1.0 + 0j]), 2.0)


@pytest.mark.parametrize("sigma", [1.0, 0.5])
def test_semicircle_against_scipy(sigma):
    x = np.linspace(-2.5 * sigma, 2.5 * sigma, 41)
    ref = st.semicircular(scale=2 * sigma)
    np.testing.assert_allclose(SC.pdf(x, sigma), ref.pdf(x), atol=1e-13)
    np.testing.assert_allclose(SC.cdf(x, sigma), ref.cdf(x), atol=1e-13)
    p = np.linspace(0.01, 0.99, 9)
    np.testing.assert_allclose(SC.ppf(p, sigma), ref.ppf(p), atol=1e-12)
    m, v, s, k = SC.moments(sigma)
    np.testing.assert_allclose([m, v, s, k], [ref.mean(), ref.var(), 0.0, -1.0], atol=1e-12)


def test_quarter_circle_is_singular_value_law(key):
    sigma = 1.3
    lo, hi = (float(v) for v in QC.edges(sigma))
    f = lambda x: float(QC.pdf(x, sigma))
    np.testing.assert_allclose(si.quad(f, lo, hi)[0], 1.0, atol=1e-10)
    for x in (0.3, 1.1, 2.2):
        np.testing.assert_allclose(float(QC.cdf(x, sigma)), si.quad(f, 0, x)[0], atol=1e-10)
    raw = [si.quad(lambda x: x**k * f(x), lo, hi)[0] for k in (1, 2, 3, 4)]
    from htrmt.laws._common import moments_from_raw

    np.testing.assert_allclose(QC.moments(sigma), moments_from_raw(*raw), rtol=1e-8)
    # nu^2 of a quarter-circle variable is MP with Q = 1: cdf_QC(nu) = cdf_MP(nu^2).
    nu = np.linspace(0.05, 2.5, 17)
    np.testing.assert_allclose(QC.cdf(nu, sigma), MP.cdf(nu**2, 1.0, sigma), atol=1e-12)
    # Sampled singular values of a square Gaussian matrix: KS distance small.
    sv = ht.spectra.singular_values(ht.ensembles.gaussian(key, (600, 600), sigma=sigma))
    assert float(ht.spectra.ks_distance(sv, lambda t: QC.cdf(t, sigma))) < 0.02
    p = jnp.linspace(0.01, 0.99, 9)
    np.testing.assert_allclose(QC.cdf(QC.ppf(p, sigma), sigma), p, atol=1e-12)


def test_law_samples_ks(key):
    for law, cdf in ((SC, lambda t: np.asarray(SC.cdf(t))), (QC, lambda t: np.asarray(QC.cdf(t)))):
        s = law.sample(key, (3000,))
        assert st.kstest(np.asarray(s), cdf).pvalue > 1e-3  # false-failure rate 1e-3 each
