"""Every law speaks the same verbs: pdf, logpdf, cdf, sf, ppf, moments, sample.

Each verb is checked against an independent reference: ``scipy.integrate.quad`` of the pdf for
the cdf and the moments, ``log`` of the pdf for the logpdf, ``1 − cdf`` for the sf, a round trip
for the ppf, a KS test of ``sample`` against the cdf (fixed key, false-failure rate 1%), and
``scipy.stats.invweibull`` for the Fréchet edge law.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

import htrmt as ht

VERBS = ("pdf", "logpdf", "cdf", "sf", "ppf", "moments", "sample")

# (id, module, parameters (keywords), support for quadrature, interior points)
LAWS = [
    ("mp", ht.laws.marchenko_pastur, dict(Q=2.0, sigma=1.3), (0.145, 4.92), [0.6, 1.0, 2.5, 4.5]),
    ("mp_q1", ht.laws.marchenko_pastur, dict(Q=1.0, sigma=1.0), (0.0, 4.0), [0.05, 1.0, 3.0]),
    ("semicircle", ht.laws.semicircle, dict(sigma=1.3), (-2.6, 2.6), [-2.0, -0.3, 0.0, 1.1, 2.5]),
    ("quarter_circle", ht.laws.quarter_circle, dict(sigma=0.7), (0.0, 1.4), [0.1, 0.7, 1.3]),
    ("tw1", ht.laws.tracy_widom, dict(beta=1), (-14.0, 10.0), [-4.0, -1.2, 0.0, 2.0]),
    ("tw2", ht.laws.tracy_widom, dict(beta=2), (-14.0, 10.0), [-3.5, -1.8, 0.5, 1.5]),
    ("tw4", ht.laws.tracy_widom, dict(beta=4), (-14.0, 10.0), [-3.5, -2.3, -1.0, 0.7]),
    (
        "frechet",
        ht.edge.frechet,
        dict(alpha=5.5, scale=2.0, loc=0.5),
        (0.5, np.inf),
        [1.5, 3.0, 8.0],
    ),
]
IDS = [law[0] for law in LAWS]


def _lo(law):
    """Lower end of the support, for quadrature (MP with Q > 1 has its bulk from λ₋)."""
    name, mod, kw, (lo, hi), _ = law
    if mod is ht.laws.marchenko_pastur:
        return float(mod.edges(**kw)[0]), float(mod.edges(**kw)[1])
    return lo, hi


def _f(mod, verb, kw):
    fn = getattr(mod, verb)
    return lambda t: float(fn(jnp.asarray(t, jnp.float64), **kw))


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_has_every_verb(law):
    _, mod, _, _, _ = law
    for verb in VERBS:
        assert callable(getattr(mod, verb)), verb


def test_levy_has_pdf_cdf_sf():
    for verb in ("pdf", "cdf", "sf"):
        assert callable(getattr(ht.laws.levy, verb))


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_logpdf_sf_consistent(law):
    _, mod, kw, _, xs = law
    x = jnp.asarray(xs, jnp.float64)
    np.testing.assert_allclose(
        np.exp(np.asarray(mod.logpdf(x, **kw))), np.asarray(mod.pdf(x, **kw)), rtol=1e-13
    )
    np.testing.assert_allclose(
        np.asarray(mod.sf(x, **kw)) + np.asarray(mod.cdf(x, **kw)), 1.0, rtol=0, atol=1e-14
    )


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_cdf_is_integral_of_pdf(law):
    _, mod, kw, _, xs = law
    lo, hi = _lo(law)
    pdf = _f(mod, "pdf", kw)
    for x in xs:
        ref, err = integrate.quad(pdf, lo, x, limit=200, epsabs=1e-12)
        assert abs(float(mod.cdf(jnp.asarray(x, jnp.float64), **kw)) - ref) < 1e-9 + 10 * err
    total, _ = integrate.quad(pdf, lo, hi, limit=200)
    assert total == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_ppf_roundtrip(law):
    _, mod, kw, _, xs = law
    x = jnp.asarray(xs, jnp.float64)
    np.testing.assert_allclose(
        np.asarray(mod.ppf(mod.cdf(x, **kw), **kw)), xs, rtol=1e-9, atol=1e-9
    )
    p = jnp.linspace(0.02, 0.98, 13, dtype=jnp.float64)
    np.testing.assert_allclose(
        np.asarray(mod.cdf(mod.ppf(p, **kw), **kw)), np.asarray(p), atol=1e-12
    )


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_moments_are_integrals_of_pdf(law):
    _, mod, kw, _, _ = law
    lo, hi = _lo(law)
    pdf = _f(mod, "pdf", kw)
    raw = [
        integrate.quad(lambda t, k=k: t**k * pdf(t), lo, hi, limit=400, epsabs=1e-13)[0]
        for k in (1, 2, 3, 4)
    ]
    m1, m2, m3, m4 = raw
    var = m2 - m1**2
    skew = (m3 - 3 * m1 * m2 + 2 * m1**3) / var**1.5
    kurt = (m4 - 4 * m1 * m3 + 6 * m1**2 * m2 - 3 * m1**4) / var**2 - 3
    got = mod.moments(**kw)
    np.testing.assert_allclose(got, (m1, var, skew, kurt), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_sample_ks(law, key):
    _, mod, kw, _, _ = law
    x = np.asarray(mod.sample(key, (4000,), **kw))
    assert x.shape == (4000,)
    cdf = lambda t: np.asarray(mod.cdf(jnp.asarray(t, jnp.float64), **kw))  # noqa: E731
    assert stats.kstest(x, cdf).pvalue > 0.01


@pytest.mark.parametrize("law", LAWS, ids=IDS)
def test_jit_equals_eager(law):
    _, mod, kw, _, xs = law
    x = jnp.asarray(xs, jnp.float64)
    for verb in ("pdf", "logpdf", "cdf", "sf"):
        fn = getattr(mod, verb)
        np.testing.assert_allclose(
            np.asarray(jax.jit(lambda t, fn=fn: fn(t, **kw))(x)),
            np.asarray(fn(x, **kw)),
            rtol=1e-12,  # XLA fuses differently under jit: a few ulps
            atol=1e-15,
        )


def test_frechet_against_scipy():
    kw = dict(alpha=2.5, scale=3.0, loc=-1.0)
    ref = stats.invweibull(2.5, loc=-1.0, scale=3.0)
    x = np.array([-0.5, 0.0, 1.0, 4.0, 30.0, 1e3])
    F = ht.edge.frechet
    np.testing.assert_allclose(np.asarray(F.pdf(x, **kw)), ref.pdf(x), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(F.logpdf(x, **kw)), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(F.cdf(x, **kw)), ref.cdf(x), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(F.sf(x, **kw)), ref.sf(x), rtol=1e-12)
    p = np.array([0.01, 0.3, 0.9])
    np.testing.assert_allclose(np.asarray(F.ppf(p, **kw)), ref.ppf(p), rtol=1e-12)
    m, v, _, _ = F.moments(**kw)
    assert m == pytest.approx(ref.mean(), rel=1e-12)
    assert v == pytest.approx(ref.var(), rel=1e-12)
    assert F.moments(alpha=0.8) == (math.inf,) * 4
    assert math.isinf(F.moments(alpha=1.5)[1])


def test_frechet_law_object_uses_the_module():
    law = ht.edge.frechet_law(1.5, 200, 100)
    x = jnp.asarray([10.0, 1e3, 1e5])
    kw = dict(alpha=law.shape, scale=law.scale)
    np.testing.assert_array_equal(np.asarray(law.cdf(x)), np.asarray(ht.edge.frechet.cdf(x, **kw)))
    assert law.moments() == ht.edge.frechet.moments(**kw)


@pytest.mark.parametrize(
    "bad, exc",
    [(True, TypeError), ("2", TypeError), (None, TypeError), (0, ValueError), (-1.0, ValueError)],
)
def test_beta_checked_alike_in_laws_and_edge(bad, exc):
    """One shared check: the same bad beta raises the same exception in laws and edge."""
    with pytest.raises(exc, match="beta"):
        ht.laws.tracy_widom.cdf(0.0, beta=bad)
    with pytest.raises(exc, match="beta"):
        ht.edge.tw_scaling(100, 50, beta=bad)
    with pytest.raises(exc, match="beta"):
        ht.edge.largest_eigenvalues(jax.random.key(0), 2, 20, 10, beta=bad)


def test_beta_default_alike_in_laws_and_edge():
    import inspect

    for fn in (ht.laws.tracy_widom.cdf, ht.edge.tw_scaling, ht.edge.largest_eigenvalues):
        assert inspect.signature(fn).parameters["beta"].default == 1
        assert inspect.signature(fn).parameters["beta"].kind is inspect.Parameter.KEYWORD_ONLY
