"""The µ > 2 edge law (largest entries through the BBP map) against sampled λ_max."""

import math

import jax
import numpy as np
import pytest

import htrmt as ht
from htrmt.edge._heavy import _pareto_pair


def _ks(samples, cdf):
    x = np.sort(np.asarray(samples, float))
    n = x.size
    F = cdf(x)
    return max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n))


# KS critical value at false-failure rate 1e-3: sqrt(-log(1e-3/2)/(2n)).
def _crit(n):
    return math.sqrt(-math.log(5e-4) / (2 * n))


_MODEL_ERR_200 = 0.1


def test_bbp_map_matches_laws_bbp():
    law = ht.edge.moderate_edge_law(3.0, 400, 200)
    th = np.array([0.9, 1.5, 3.0])
    ref = law.variance * np.asarray(ht.laws.bbp.location(th, 2.0, model="low_rank"), float)
    np.testing.assert_allclose(law.g(th), ref, rtol=1e-6)
    np.testing.assert_allclose(law.g(law.g_inv(law.g(th))), law.g(th), rtol=1e-10)
    assert law.g(0.1) == pytest.approx(law.lambda_plus)


@pytest.mark.parametrize("mu", [2.5, 3.0, 3.5])
def test_pareto_lambda_max_ks_n200(mu):
    lam, _ = _pareto_pair(jax.random.key(11), 300, 200, 200, mu, "symmetric", None, None)
    law = ht.edge.moderate_edge_law(mu, 200, 200)
    # sampling error plus the law's own error at N = 200 (KS 0.05-0.10 at 2000 samples,
    # sims/edge_study.py; it shrinks with N)
    assert _ks(lam, law.cdf) < _crit(300) + _MODEL_ERR_200
    # the sample median lies within the law's 3-sigma median band (binomial: 0.5 ± 1.5/√n,
    # false-failure rate 0.3%), widened by a 5% model error
    lo, hi = law.ppf(np.array([0.5 - 1.5 / math.sqrt(300), 0.5 + 1.5 / math.sqrt(300)]))
    assert 0.95 * lo < float(np.median(np.asarray(lam, float))) < 1.05 * hi


@pytest.mark.slow
def test_error_shrinks_with_n():
    # µ = 3, Q = 1: relative error of the median at N = 200, 400, 800 (recorded by
    # sims/edge_study.py at larger sample sizes); the deviation at 800 must not exceed 200's.
    errs = []
    for N, num in ((200, 300), (400, 150), (800, 60)):
        lam, _ = _pareto_pair(jax.random.key(5), num, N, N, 3.0, "symmetric", None, None)
        law = ht.edge.moderate_edge_law(3.0, N, N)
        errs.append(abs(law.median() / float(np.median(lam)) - 1))
    assert errs[-1] < 0.06 and errs[0] < 0.08


def test_student_t():
    N = 200
    ks = jax.random.split(jax.random.key(3), 150)
    W = jax.vmap(lambda k: ht.ensembles.student_t(k, (N, N), df=3.0))(ks)
    lam = np.asarray(ht.spectra.esd(W)[..., -1], float)
    law = ht.edge.moderate_edge_law(3.0, N, N, entries="student_t")
    assert _ks(lam, law.cdf) < _crit(150) + _MODEL_ERR_200


def test_sample_matches_cdf_and_top_k():
    law = ht.edge.moderate_edge_law(3.0, 400, 400)
    s = law.sample(jax.random.key(0), 4000, k=3)
    assert s.shape == (4000, 3) and np.all(np.diff(s, axis=1) <= 0)
    assert _ks(s[:, 0], law.cdf) < _crit(4000)
    p = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(law.cdf(law.ppf(p)), p, atol=1e-9)


def test_crossover_to_tracy_widom():
    # µ > 4 at large N: the outlier probability vanishes and the law is TW at λ+.
    law = ht.edge.moderate_edge_law(8.0, 3200, 1600)
    assert law.outlier_cdf(law.lambda_plus) > 0.99
    assert law.outlier_count() < 0.01
    low = ht.edge.moderate_edge_law(2.5, 3200, 1600)
    assert low.outlier_count() > 1


def test_lomax_mean_spike():
    lam, _ = _pareto_pair(jax.random.key(2), 20, 400, 400, 3.0, "lomax", None, None)
    assert float(np.median(lam)) == pytest.approx(ht.edge.lomax_spike(3.0, 400, 400), rel=0.02)


def test_bad_input():
    for mu in (2.0, 1.5, -1.0):
        with pytest.raises(ValueError, match="mu"):
            ht.edge.moderate_edge_law(mu, 100, 100)
    with pytest.raises(ValueError, match="levy_stable"):
        ht.edge.moderate_edge_law(3.0, 100, 100, entries="levy_stable")
    with pytest.raises(ValueError, match="N must be >= M"):
        ht.edge.moderate_edge_law(3.0, 10, 100)
    with pytest.raises(ValueError, match="mu"):
        ht.edge.lomax_spike(1.5, 100, 100)
    with pytest.raises(ValueError, match="p must"):
        ht.edge.moderate_edge_law(3.0, 100, 100).ppf(1.0)
