"""Tracy–Widom laws TW_1, TW_2, TW_4: accuracy, consistency, tails, sampling, errors."""

import functools
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from htrmt.laws import tracy_widom as tw

BETAS = (1, 2, 4)
REF_PATH = Path(__file__).parent / "data" / "tracy_widom_reference.json"
C4 = 2.0 ** (1.0 / 6.0)  # s_TW = C4 · x_beta-ensemble for β = 4


@functools.lru_cache(maxsize=1)
def _ref_json():
    return json.loads(REF_PATH.read_text())


def _ref(beta):
    rows = [r for r in _ref_json()["values"] if r["beta"] == beta]
    s = np.array([r["s"] for r in rows])
    F = np.array([float(r["cdf"]) for r in rows])
    S = np.array([float(r["sf"]) for r in rows])
    return s, F, S


def _gl_panels(a, b, width, n=24):
    x, w = np.polynomial.legendre.leggauss(n)
    edges = np.arange(a, b, width)
    u = (edges[:, None] + 0.5 * width * (x[None, :] + 1.0)).ravel()
    return u, np.tile(0.5 * width * w, len(edges))


# ------------------------------------------------------------------------------ reference values


def test_reference_table_is_converged():
    # the 40-digit determinants at two node counts agree far below the tolerances used here
    rows = _ref_json()["values"]
    assert len(rows) >= 3 * 15
    assert max(r["abs_diff_m"] for r in rows) < 1e-21
    # 1 − F keeps 40 − |log10(1 − F)| digits; up to s = 6 that is far below the tolerances
    assert max(r["rel_diff_sf_m"] for r in rows if r["s"] <= 6) < 1e-16


@pytest.mark.parametrize("beta", BETAS)
def test_cdf_matches_reference(beta):
    s, F, _ = _ref(beta)
    got = np.asarray(tw.cdf(jnp.asarray(s), beta=beta))
    inside = (s >= -8) & (s <= 6)
    assert inside.sum() >= 15
    np.testing.assert_allclose(got, F, rtol=0, atol=1e-13)


@pytest.mark.parametrize("beta", BETAS)
def test_sf_relative_accuracy_right_tail(beta):
    s, _, S = _ref(beta)
    keep = (s >= -1.0) & (S > 1e-25)  # the 40-digit 1 − F keeps > 15 digits there
    got = np.asarray(tw.sf(jnp.asarray(s[keep]), beta=beta))
    np.testing.assert_allclose(got, S[keep], rtol=2e-13, atol=0)
    lsf = np.asarray(tw.logsf(jnp.asarray(s[keep]), beta=beta))
    np.testing.assert_allclose(lsf, np.log(S[keep]), rtol=0, atol=2e-13)


@pytest.mark.parametrize("beta", BETAS)
def test_logcdf_relative_accuracy_left_tail(beta):
    s, F, _ = _ref(beta)
    keep = s <= -3.0
    got = np.asarray(tw.logcdf(jnp.asarray(s[keep]), beta=beta))
    # the left tail is carried by the determinant table down to s = -7 (-5.5 for β = 4) and by
    # the Hastings–McLeod series below; both hold log F to ~1e-9 there
    np.testing.assert_allclose(got, np.log(F[keep]), rtol=0, atol=2e-9)


# ------------------------------------------------------------------------------ moments


@pytest.mark.parametrize("beta", BETAS)
def test_published_moments(beta):
    got = tw.moments(beta=beta)
    pub = tw.PUBLISHED_MOMENTS[beta]
    # mean and variance: 1e-11 (the target); skewness and kurtosis are published with fewer
    # digits: agreement in every published digit, i.e. within one unit of the last one (the
    # published values may be rounded or truncated), or 1e-11 if that is larger.
    for g, p, name in zip(got, pub, ("mean", "variance", "skewness", "kurtosis"), strict=True):
        decimals = len(repr(p).split(".")[1])
        tol = max(1e-11, 10.0**-decimals) if name in ("skewness", "kurtosis") else 1e-11
        assert abs(g - p) <= tol, (name, g, p, tol)


def test_moments_beta_ensemble_convention():
    m, v, sk, ku = tw.moments(beta=4, convention="beta_ensemble")
    M, V, SK, KU = tw.moments(beta=4)
    assert math.isclose(m, M / C4, rel_tol=1e-15)
    assert math.isclose(v, V / C4**2, rel_tol=1e-15)
    assert (sk, ku) == (SK, KU)
    assert abs(m - (-2.0552)) < 1e-4
    assert tw.moments(beta=2, convention="beta_ensemble") == tw.moments(beta=2)


@pytest.mark.parametrize("beta", BETAS)
def test_moments_match_pdf_quadrature(beta):
    # an independent route: ∫ s^k f(s) ds with the jax pdf
    u, w = _gl_panels(-30.0, 40.0, 0.25)
    f = np.asarray(tw.pdf(jnp.asarray(u), beta=beta))
    m1 = np.sum(w * u * f)
    m2 = np.sum(w * u**2 * f)
    mean, var, _, _ = tw.moments(beta=beta)
    assert abs(m1 - mean) < 1e-12
    assert abs(m2 - m1**2 - var) < 1e-12


# ------------------------------------------------------------------------------ consistency


@pytest.mark.parametrize("beta", BETAS)
def test_cdf_monotone_and_bounded(beta):
    s = jnp.linspace(-30.0, 40.0, 20001)
    F = np.asarray(tw.cdf(s, beta=beta))
    assert np.all(np.diff(F) >= 0)
    assert F.min() >= 0 and F.max() <= 1
    lF = np.asarray(tw.logcdf(s, beta=beta))
    lS = np.asarray(tw.logsf(s, beta=beta))
    assert np.all(np.diff(lF) > 0)  # strictly increasing in log scale (no underflow plateaus)
    assert np.all(np.diff(lS) <= 0)
    resolved = lS[1:] < -1e-300  # log(1 − F) is −0.0 once F < 1e-308
    assert resolved.sum() > 15000 and np.all(np.diff(lS)[resolved] < 0)


@pytest.mark.parametrize("beta", BETAS)
def test_pdf_integrates_to_one_and_to_cdf_increments(beta):
    u, w = _gl_panels(-30.0, 40.0, 0.25)
    f = np.asarray(tw.pdf(jnp.asarray(u), beta=beta))
    assert abs(np.sum(w * f) - 1.0) < 1e-13
    # ∫_a^b f = F(b) − F(a) panel by panel (pieces of width 1/2 hold two panels)
    n = 24
    per_panel = (w * f).reshape(-1, n).sum(axis=1)
    edges = np.arange(-30.0, 40.0 + 1e-9, 0.25)
    F = np.asarray(tw.cdf(jnp.asarray(edges), beta=beta))
    # the derivative of a degree-24 piece carries ~1e-12 relative rounding
    np.testing.assert_allclose(per_panel, np.diff(F), rtol=2e-12, atol=2e-15)


@pytest.mark.parametrize("beta", BETAS)
def test_pdf_matches_numerical_derivative(beta):
    s = np.linspace(-7.9, 5.9, 57)
    h = 1e-3
    F = lambda x: np.asarray(tw.cdf(jnp.asarray(x), beta=beta))
    # fourth-order central difference: truncation ~h^4, rounding ~1e-16/h
    d = (-F(s + 2 * h) + 8 * F(s + h) - 8 * F(s - h) + F(s - 2 * h)) / (12 * h)
    np.testing.assert_allclose(np.asarray(tw.pdf(jnp.asarray(s), beta=beta)), d, rtol=0, atol=1e-11)
    lp = np.asarray(tw.logpdf(jnp.asarray(s), beta=beta))
    np.testing.assert_allclose(
        np.exp(lp), np.asarray(tw.pdf(jnp.asarray(s), beta=beta)), rtol=1e-14
    )


@pytest.mark.parametrize("beta", [1, pytest.param(2, marks=pytest.mark.slow), 4])
def test_ppf_inverts_cdf(beta):
    s = jnp.linspace(-12.0, 1.0, 131)
    np.testing.assert_allclose(
        np.asarray(tw.ppf(tw.cdf(s, beta=beta), beta=beta)), np.asarray(s), atol=2e-13
    )
    p = jnp.asarray(np.concatenate([10.0 ** -np.arange(1, 300, 7.0), np.linspace(0.01, 0.99, 99)]))
    # log p is the well-conditioned quantity: |Δ log F| ≲ eps·|log p|
    np.testing.assert_allclose(
        np.asarray(tw.logcdf(tw.ppf(p, beta=beta), beta=beta)),
        np.log(np.asarray(p)),
        rtol=1e-14,
        atol=1e-15,
    )
    # right tail through the survival function: 1 − p is exact for these p
    q = jnp.asarray(2.0 ** -np.arange(2, 52))
    x = tw.ppf(1.0 - q, beta=beta)
    np.testing.assert_allclose(np.asarray(tw.sf(x, beta=beta)), np.asarray(q), rtol=1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_sf_plus_cdf_is_one(beta):
    s = jnp.linspace(-9.0, 9.0, 361)
    np.testing.assert_allclose(
        np.asarray(tw.cdf(s, beta=beta) + tw.sf(s, beta=beta)), 1.0, atol=2e-16
    )


def test_beta4_conventions():
    x = jnp.linspace(-6.0, 4.0, 41)
    np.testing.assert_allclose(
        np.asarray(tw.cdf(x, beta=4, convention="beta_ensemble")),
        np.asarray(tw.cdf(C4 * x, beta=4)),
        rtol=0,
        atol=1e-16,
    )
    np.testing.assert_allclose(
        np.asarray(tw.pdf(x, beta=4, convention="beta_ensemble")),
        C4 * np.asarray(tw.pdf(C4 * x, beta=4)),
        rtol=1e-14,
    )
    p = jnp.asarray([0.01, 0.3, 0.5, 0.9])
    np.testing.assert_allclose(
        np.asarray(tw.ppf(p, beta=4, convention="beta_ensemble")),
        np.asarray(tw.ppf(p, beta=4)) / C4,
        rtol=1e-15,
    )
    for beta in (1, 2):
        np.testing.assert_array_equal(
            np.asarray(tw.cdf(x, beta=beta, convention="beta_ensemble")),
            np.asarray(tw.cdf(x, beta=beta)),
        )


# ------------------------------------------------------------------------------ tails


@pytest.mark.parametrize("beta", BETAS)
def test_extreme_arguments_never_nan(beta):
    s = jnp.asarray([-jnp.inf, -1e300, -1e6, -200.0, -30.0, 30.0, 200.0, 1e6, 1e300, jnp.inf])
    for f in (tw.cdf, tw.sf, tw.logcdf, tw.logsf, tw.pdf, tw.logpdf):
        v = np.asarray(f(s, beta=beta))
        assert not np.any(np.isnan(v)), f.__name__
    F = np.asarray(tw.cdf(s, beta=beta))
    assert F[0] == 0.0 and F[-1] == 1.0 and F[1] == 0.0 and F[-2] == 1.0
    assert np.asarray(tw.sf(s, beta=beta))[-1] == 0.0
    assert np.asarray(tw.logcdf(s, beta=beta))[0] == -np.inf
    assert np.asarray(tw.logsf(s, beta=beta))[-1] == -np.inf
    lp = np.asarray(tw.logpdf(s, beta=beta))
    assert lp[0] == -np.inf and lp[-1] == -np.inf
    assert np.asarray(tw.pdf(s, beta=beta))[[0, 1, -2, -1]].tolist() == [0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("beta", BETAS)
def test_tail_leading_orders(beta):
    # β-ensemble variable, general-β tails (Borot–Eynard–Majumdar–Nadal; Dumaz–Virág):
    #   log F = −β|x|³/24 + (√2/3)(β/2 − 1)|x|^{3/2} + (β/2 + 2/β − 3)/8 · log|x| + c + o(1)
    #   log(1 − F) = −(2β/3) x^{3/2} − (3β/4) log x + c' + o(1)
    # so what is left after the known terms settles to a constant (this also pins the β = 4
    # convention: the TW variable would leave a term growing like |x|³).
    x = np.array([40.0, 80.0, 160.0, 320.0])
    lF = np.asarray(tw.logcdf(jnp.asarray(-x), beta=beta, convention="beta_ensemble"))
    restF = (
        lF
        + beta * x**3 / 24
        - math.sqrt(2) / 3 * (beta / 2 - 1) * x**1.5
        - (beta / 2 + 2 / beta - 3) / 8 * np.log(x)
    )
    assert np.all(np.abs(np.diff(restF)) < 1e-3), restF
    lS = np.asarray(tw.logsf(jnp.asarray(x), beta=beta, convention="beta_ensemble"))
    restS = lS + 2 * beta / 3 * x**1.5 + 3 * beta / 4 * np.log(x)
    d = np.abs(np.diff(restS))  # the o(1) is O(x^{-3/2}): steps shrink by ~2^{3/2}
    assert np.all(d < 1e-2) and np.all(d[1:] < d[:-1] / 2), restS
    if beta == 1:
        assert abs(restS[-1] + math.log(4 * math.sqrt(math.pi))) < 1e-3
    if beta == 2:
        assert abs(restS[-1] + math.log(16 * math.pi)) < 1e-3


@pytest.mark.parametrize("beta", BETAS)
def test_continuous_across_table_ends(beta):
    edges = tw._tables()[f"b{beta}_edges"]
    for e in (edges[0], edges[2]):
        eps = 1e-9
        a = np.asarray(tw.logcdf(jnp.asarray([e - eps, e + eps]), beta=beta))
        b = np.asarray(tw.logsf(jnp.asarray([e - eps, e + eps]), beta=beta))
        assert abs(a[1] - a[0]) < 1e-8 * max(1.0, abs(a[0]))
        assert abs(b[1] - b[0]) < 1e-8 * max(1.0, abs(b[0]))


# ------------------------------------------------------------------------------ transforms


@pytest.mark.parametrize("beta", [1, pytest.param(4, marks=pytest.mark.slow)])
def test_jit_equals_eager(beta):
    s = jnp.linspace(-10.0, 30.0, 101)
    for f in (tw.cdf, tw.sf, tw.logcdf, tw.logsf, tw.pdf, tw.logpdf):
        np.testing.assert_allclose(
            np.asarray(jax.jit(lambda x, f=f: f(x, beta=beta))(s)),
            np.asarray(f(s, beta=beta)),
            rtol=1e-15,
        )
    p = jnp.linspace(0.01, 0.99, 21)
    np.testing.assert_allclose(
        np.asarray(jax.jit(lambda q: tw.ppf(q, beta=beta))(p)),
        np.asarray(tw.ppf(p, beta=beta)),
        rtol=1e-15,
    )
    # under jit the ends map to ∓inf rather than raising
    ends = np.asarray(jax.jit(lambda q: tw.ppf(q, beta=beta))(jnp.asarray([0.0, 1.0])))
    assert ends.tolist() == [-np.inf, np.inf]


def test_vmap_equals_loop():
    s = jnp.linspace(-5.0, 5.0, 7)
    v = jax.vmap(lambda x: tw.cdf(x, beta=1))(s)
    loop = jnp.stack([tw.cdf(x, beta=1) for x in s])
    np.testing.assert_array_equal(np.asarray(v), np.asarray(loop))
    assert tw.cdf(jnp.zeros((2, 3)), beta=2).shape == (2, 3)


@pytest.mark.parametrize("beta", [pytest.param(1, marks=pytest.mark.slow), 4])
def test_float32(beta):
    s64 = jnp.linspace(-8.0, 6.0, 141)
    s32 = s64.astype(jnp.float32)
    for f in (tw.cdf, tw.sf, tw.pdf):
        out = f(s32, beta=beta)
        assert out.dtype == jnp.float32
        ref = np.asarray(f(s32.astype(jnp.float64), beta=beta))
        np.testing.assert_allclose(np.asarray(out), ref, rtol=2e-5, atol=1e-7)
    lc = tw.logcdf(jnp.asarray([-20.0, -5.0], jnp.float32), beta=beta)
    assert lc.dtype == jnp.float32 and np.all(np.isfinite(np.asarray(lc)))
    p = jnp.asarray([0.01, 0.5, 0.99], jnp.float32)
    x = tw.ppf(p, beta=beta)
    assert x.dtype == jnp.float32
    np.testing.assert_allclose(
        np.asarray(x), np.asarray(tw.ppf(p.astype(jnp.float64), beta=beta)), atol=2e-5
    )
    assert tw.sample(jax.random.key(0), (5,), beta=beta, dtype=jnp.float32).dtype == jnp.float32


# ------------------------------------------------------------------------------ sampling


@pytest.mark.parametrize(
    "beta, convention", [(1, "tw"), (2, "tw"), (4, "tw"), (4, "beta_ensemble")]
)  # for β = 1, 2 the two conventions are the same law (checked in test_beta4_conventions)
def test_sample_ks(beta, convention, key):
    # KS test of 20000 draws against cdf; a correct sampler fails with probability 1% (fixed key)
    x = np.asarray(tw.sample(key, (20000,), beta=beta, convention=convention))
    assert np.all(np.isfinite(x))
    res = scipy.stats.kstest(
        x, lambda t: np.asarray(tw.cdf(jnp.asarray(t), beta=beta, convention=convention))
    )
    assert res.pvalue > 0.01
    # and the sample mean within 5 standard errors of the law's mean (false-failure ~6e-7)
    m, v, _, _ = tw.moments(beta=beta, convention=convention)
    assert abs(x.mean() - m) < 5 * math.sqrt(v / x.size)


def test_sample_shapes_and_keys(key):
    assert tw.sample(key, 6, beta=1).shape == (6,)
    a = tw.sample(key, (2, 3), beta=1)
    assert a.shape == (2, 3)
    b = tw.sample(key, (2, 3), beta=1)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    c = tw.sample(jax.random.split(key)[0], (2, 3), beta=1)
    assert not np.array_equal(np.asarray(a), np.asarray(c))


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("beta", [0, 3, 2.5, -1])
def test_bad_beta(beta):
    with pytest.raises(ValueError, match="beta must be one of 1, 2, 4"):
        tw.cdf(0.0, beta=beta)
    with pytest.raises(ValueError, match="beta"):
        tw.moments(beta=beta)
    with pytest.raises(ValueError, match="beta"):
        tw.sample(jax.random.key(0), (3,), beta=beta)


@pytest.mark.parametrize("beta", [True, "2", None, float("nan"), float("inf")])
def test_beta_not_a_number(beta):
    with pytest.raises(TypeError, match="beta must be a finite real number"):
        tw.cdf(0.0, beta=beta)
    with pytest.raises(TypeError, match="beta"):
        tw.moments(beta=beta)


def test_beta_default_is_one():
    s = jnp.linspace(-4.0, 3.0, 7)
    np.testing.assert_array_equal(np.asarray(tw.cdf(s)), np.asarray(tw.cdf(s, beta=1)))
    assert tw.moments() == tw.moments(beta=1)


@pytest.mark.parametrize(
    "call",
    [
        lambda: tw.cdf(0.5, 2),
        lambda: tw.sf(0.5, 2),
        lambda: tw.pdf(0.5, 2),
        lambda: tw.logpdf(0.5, 2),
        lambda: tw.logcdf(0.5, 2),
        lambda: tw.logsf(0.5, 2),
        lambda: tw.ppf(0.5, 2),
        lambda: tw.moments(2),
        lambda: tw.sample(jax.random.key(0), (3,), 2),
    ],
)
def test_positional_beta_deprecated(call):
    with pytest.warns(DeprecationWarning, match="beta positionally"):
        call()


def test_positional_beta_same_values():
    with pytest.warns(DeprecationWarning):
        old = (tw.cdf(0.5, 2), tw.ppf(0.3, 4), tw.moments(2))
    assert float(old[0]) == float(tw.cdf(0.5, beta=2))
    assert float(old[1]) == float(tw.ppf(0.3, beta=4))
    assert old[2] == tw.moments(beta=2)


def test_bad_convention():
    with pytest.raises(ValueError, match="convention"):
        tw.cdf(0.0, beta=4, convention="TW")
    with pytest.raises(ValueError, match="convention"):
        tw.moments(beta=1, convention="dumitriu")


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.5, float("nan"), [0.2, 1.0]])
def test_ppf_bad_p(p):
    with pytest.raises(ValueError, match="p must"):
        tw.ppf(p, beta=2)


def test_bad_types():
    with pytest.raises(TypeError):
        tw.cdf(jnp.asarray([1 + 2j]), beta=1)
    with pytest.raises(TypeError):
        tw.sample(0, (3,), beta=1)
