"""Samplers: shapes, dtypes, batch axes, moments, tails, spikes, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import htrmt as ht

E = ht.ensembles
SAMPLERS = {
    "gaussian": lambda k, s, **kw: E.gaussian(k, s, **kw),
    "pareto": lambda k, s, **kw: E.pareto(k, s, mu=2.5, **kw),
    "lomax": lambda k, s, **kw: E.pareto(k, s, mu=2.5, convention="lomax", **kw),
    "student_t": lambda k, s, **kw: E.student_t(k, s, df=3.0, **kw),
    "levy_stable": lambda k, s, **kw: E.levy_stable(k, s, alpha_stable=1.5, **kw),
    "spiked": lambda k, s, **kw: E.spiked_covariance(k, s, spikes=(4.0, 2.0), **kw),
    "low_rank": lambda k, s, **kw: E.low_rank_signal(k, s, strengths=(2.0,), **kw),
    "correlated": lambda k, s, **kw: E.correlated(
        k, s, population_eigenvalues=np.linspace(0.5, 2, s[-1]), **kw
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_shape_dtype_batch(name, dtype, key):
    f = SAMPLERS[name]
    W = f(key, (3, 40, 20), dtype=dtype)
    assert W.shape == (3, 40, 20) and W.dtype == dtype
    assert bool(jnp.all(jnp.isfinite(W)))
    # Deterministic in the key, different across keys.
    np.testing.assert_array_equal(W, f(key, (3, 40, 20), dtype=dtype))
    W2 = f(jax.random.split(key)[0], (3, 40, 20), dtype=dtype)
    assert not np.array_equal(np.asarray(W), np.asarray(W2))
    # Batch members are distinct matrices.
    assert not np.array_equal(np.asarray(W[0]), np.asarray(W[1]))


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_jit_and_vmap(name, key):
    f = SAMPLERS[name]
    eager = f(key, (30, 10))
    jitted = jax.jit(lambda k: f(k, (30, 10)))(key)
    np.testing.assert_allclose(eager, jitted, rtol=1e-12, atol=1e-12)
    keys = jax.random.split(key, 3)
    vm = jax.vmap(lambda k: f(k, (30, 10)))(keys)
    loop = jnp.stack([f(k, (30, 10)) for k in keys])
    np.testing.assert_allclose(vm, loop, rtol=1e-10, atol=1e-10)


def test_default_dtype_follows_x64(key):
    assert E.gaussian(key, (4, 3)).dtype == jnp.float64  # conftest enables x64


def test_gaussian_moments(key):
    # CLT bands at 5 sigma: false-failure rate < 1e-6 per check.
    n = 200 * 300
    W = np.asarray(E.gaussian(key, (200, 300), sigma=2.0)).ravel()
    assert abs(W.mean()) < 5 * 2.0 / math.sqrt(n)
    # Var of the sample variance of N(0, s^2) is 2 s^4 / n.
    assert abs(W.var() - 4.0) < 5 * math.sqrt(2 * 16 / n)


@pytest.mark.parametrize("mu", [0.8, 1.5, 2.5, 4.0])
def test_pareto_symmetric_tail_index(mu, key):
    # P(|w| > x) = x^-mu for x >= 1 exactly, so the MLE with xmin = 1 (the Hill estimator on the
    # whole sample) is mu_hat = n / sum log|w|, asymptotically N(mu, mu^2/n).
    n = 100_000
    w = np.asarray(E.pareto(key, (100, 1000), mu=mu))
    assert np.all(np.abs(w) >= 1.0)
    mu_hat = n / np.log(np.abs(w)).sum()
    assert abs(mu_hat - mu) < 5 * mu / math.sqrt(n)  # false-failure rate < 1e-6
    # Symmetric signs: fraction positive within a 5-sigma binomial band.
    assert abs((w > 0).mean() - 0.5) < 5 * 0.5 / math.sqrt(n)


def test_pareto_hill_on_top_order_statistics(key):
    # Hill estimate of mu from the k largest |w| (the estimator users apply to real data):
    # for exact Pareto it is unbiased-ish with sd mu/sqrt(k).
    mu, k = 2.5, 2000
    a = np.sort(np.abs(np.asarray(E.pareto(key, (200, 500), mu=mu))).ravel())[::-1]
    hill = k / np.log(a[:k] / a[k]).sum()
    assert abs(hill - mu) < 5 * mu / math.sqrt(k)


def test_lomax_matches_numpy_convention(key):
    # numpy.random.pareto(mu) is Lomax: P(w > x) = (1 + x)^-mu. KS test at p > 1e-3.
    w = np.asarray(E.pareto(key, (50, 100), mu=3.0, convention="lomax")).ravel()
    assert w.min() >= 0
    assert st.kstest(w, st.lomax(3.0).cdf).pvalue > 1e-3
    ref = np.random.default_rng(0).pareto(3.0, size=5000)
    assert st.ks_2samp(w, ref).pvalue > 1e-3


def test_student_t_law(key):
    w = np.asarray(E.student_t(key, (50, 100), df=3.0)).ravel()
    assert st.kstest(w, st.t(3.0).cdf).pvalue > 1e-3  # false-failure rate 1e-3


def test_student_t_refills_a_shortfall_of_accepted_pairs(key, monkeypatch):
    # with as many candidate pairs as entries, about 21% of the entries come from the refill loop
    from htrmt.ensembles import _heavy_tailed

    monkeypatch.setattr(_heavy_tailed, "_num_candidates", lambda n: n)
    w = np.asarray(_heavy_tailed._student_t(key, jnp.asarray(3.0), (37, 101), jnp.float64))
    assert np.all(np.isfinite(w))
    assert st.kstest(w.ravel(), st.t(3.0).cdf).pvalue > 1e-3  # false-failure rate 1e-3


def test_student_t_small_df_float32_stays_finite():
    # W^(-2/df) overflows float32 for df < 1 while T is representable (jax.random.t gave 24
    # infinities in 1e6 draws at df = 0.25); the law still holds (KS, false-failure rate 1e-3)
    w = np.asarray(E.student_t(jax.random.key(0), (1000, 1000), df=0.25, dtype=jnp.float32))
    assert np.all(np.isfinite(w))
    assert st.kstest(w.ravel(), st.t(0.25).cdf).pvalue > 1e-3


def test_levy_stable_law(key):
    w = np.asarray(E.levy_stable(key, (20, 50), alpha_stable=1.5)).ravel()
    grid = np.linspace(-6, 6, 13)
    ref = st.levy_stable(1.5, 0.0).cdf(grid)
    # DKW band: P(sup|F_n - F| > eps) <= 2 exp(-2 n eps^2) = 1e-4 at eps below.
    eps = math.sqrt(math.log(2 / 1e-4) / (2 * w.size))
    emp = (w[None, :] <= grid[:, None]).mean(axis=1)
    assert np.max(np.abs(emp - ref)) < eps
    # alpha_stable = 1 is Cauchy.
    c = np.asarray(E.levy_stable(key, (20, 50), alpha_stable=1.0)).ravel()
    assert st.kstest(c, st.cauchy.cdf).pvalue > 1e-3


def test_spiked_covariance_population(key):
    # Sample covariance of many rows approaches sigma^2 (I + sum l v v^T): its top eigenvalues.
    N, M = 20000, 20
    W = np.asarray(E.spiked_covariance(key, (N, M), spikes=(5.0, 2.0), sigma=0.5))
    C = W.T @ W / N
    ev = np.linalg.eigvalsh(C)
    # Population eigenvalues 0.25 * (6, 3, 1, ...); relative sd of sample eigenvalues ~ sqrt(2/N).
    np.testing.assert_allclose(ev[-2:], [0.75, 1.5], rtol=6 * math.sqrt(2 / N) + 2 * M / N)
    np.testing.assert_allclose(np.median(ev[:-2]), 0.25, rtol=0.05)


def test_spike_locations_bbp_covariance(key):
    # Outlier of esd(W) at the BBP location, within a CLT band from the Paul (2007) std.
    N, M, ell, trials = 1200, 600, 3.0, 16
    keys = jax.random.split(key, trials)
    top = jax.vmap(lambda k: ht.esd(E.spiked_covariance(k, (N, M), spikes=(ell,)))[-1])(keys)
    loc = float(ht.laws.bbp.location(ell, N / M))
    sd = float(ht.laws.bbp.fluctuation_std(ell, N, M))
    # 5-sigma band on the mean of `trials` draws plus an O(1/N) finite-size allowance.
    assert abs(float(jnp.mean(top)) - loc) < 5 * sd / math.sqrt(trials) + 10.0 / N


def test_spike_locations_bbp_low_rank(key):
    N, M, S, trials = 1200, 600, 1.5, 16
    keys = jax.random.split(key, trials)
    top = jax.vmap(lambda k: ht.esd(E.low_rank_signal(k, (N, M), strengths=(S,)))[-1])(keys)
    loc = float(ht.laws.bbp.location(S, N / M, model="low_rank"))
    # The outlier's sd is O(1/sqrt(N)); bound it by the empirical sd (5-sigma band on the mean).
    sd = float(jnp.std(top))
    assert abs(float(jnp.mean(top)) - loc) < 5 * sd / math.sqrt(trials) + 10.0 / N
    assert float(jnp.min(top)) > float(ht.laws.marchenko_pastur.edges(N / M)[1])


def test_subcritical_spike_sticks_to_edge(key):
    N, M = 1600, 800
    ell = 0.5 * ht.laws.bbp.threshold(2.0)
    top = float(ht.esd(E.spiked_covariance(key, (N, M), spikes=(ell,)))[-1])
    lam_plus = float(ht.laws.marchenko_pastur.edges(2.0)[1])
    # TW scale at this size is ~ Q^-1/2 lam+^{2/3} M^{-2/3} ~ 0.02; allow 8 of them.
    assert abs(top - lam_plus) < 8 * 2.0**-0.5 * lam_plus ** (2 / 3) * M ** (-2 / 3)


def test_correlated_covariance(key):
    N, M = 40000, 8
    pe = np.array([0.5, 1, 1, 2, 2, 3, 4, 8.0])
    for basis in ("identity", "random"):
        W = np.asarray(E.correlated(key, (N, M), population_eigenvalues=pe, basis=basis))
        ev = np.linalg.eigvalsh(W.T @ W / N)
        np.testing.assert_allclose(ev, np.sort(pe), rtol=6 * math.sqrt(2 / N) + 2 * M / N)


def test_wigner_semicircle(key):
    H = E.wigner(key, (1000, 1000), sigma=1.0)
    np.testing.assert_allclose(H, H.T)
    ev = jnp.linalg.eigvalsh(H)
    d = ht.spectra.ks_distance(ev, ht.laws.semicircle.cdf)
    assert float(d) < 0.01  # eigenvalue rigidity: D = O(log N / N)


def test_universality_class():
    uc = E.universality_class
    assert uc(1.0).name == "very heavy-tailed" and uc(1.0).alpha_limit == 1.5
    assert uc(2.0).name == "moderately heavy-tailed"
    assert uc(3.9).name == "moderately heavy-tailed"
    assert uc(3.0).alpha_limit is None and uc(3.0).limit == "MP"
    row = uc(3.0, authors=True)
    assert row.name == "moderately heavy-tailed (Martin & Mahoney)" and row.alpha_limit == 2.5
    assert row.limit == "power law ~ λ^-(µ/2+1)"
    assert uc(4.0).name == "weakly heavy-tailed" and uc(4.0).alpha_limit is None
    assert uc(None).name == "gaussian" and uc(math.inf).bulk_edge == "Tracy-Widom"
    assert uc(None, spiked=True).far_tail == "Gaussian"
    assert uc(1.0).far_tail == "Fréchet"
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(ValueError, match="mu"):
            uc(bad)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda k: E.pareto(k, (10, 5), mu=0.0), ValueError, "mu must be > 0"),
        (lambda k: E.pareto(k, (10, 5), mu=-1.0), ValueError, "mu"),
        (lambda k: E.pareto(k, (10, 5), mu=2.0, convention="numpy"), ValueError, "convention"),
        (lambda k: E.gaussian(k, (1, 5)), ValueError, "at least 2 rows"),
        (lambda k: E.gaussian(k, (10,)), ValueError, "two axes"),
        (lambda k: E.gaussian(k, (10, 5.0)), ValueError, "Python ints"),
        (lambda k: E.gaussian(k, (10, 5), sigma=0.0), ValueError, "sigma"),
        (lambda k: E.gaussian(0, (10, 5)), TypeError, "jax.random key"),
        (lambda k: E.gaussian(k, (10, 5), dtype=jnp.int32), TypeError, "dtype"),
        (lambda k: E.student_t(k, (10, 5), df=0.0), ValueError, "df"),
        (lambda k: E.levy_stable(k, (10, 5), alpha_stable=2.5), ValueError, "alpha_stable"),
        (lambda k: E.spiked_covariance(k, (10, 5), spikes=(-1.0,)), ValueError, "spikes"),
        (lambda k: E.spiked_covariance(k, (10, 3), spikes=(1, 1, 1, 1)), ValueError, "spikes"),
        (lambda k: E.low_rank_signal(k, (10, 5), strengths=()), ValueError, "strengths"),
        (lambda k: E.correlated(k, (10, 5), population_eigenvalues=[1, 2]), ValueError, "length"),
        (lambda k: E.wigner(k, (10, 5)), ValueError, "square"),
    ],
)
def test_bad_input(call, exc, match, key):
    with pytest.raises(exc, match=match):
        call(key)
