"""Marchenko–Pastur bulk fit: σ against the truth (CLT bands), spikes of spiked covariance."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import htrmt as ht
from htrmt.fit._marchenko_pastur import TW1_MEAN, tw1_quantile, tw_scale


def _esd(key, shape, sigma=1.0, dtype=jnp.float64):
    return ht.esd(ht.ensembles.gaussian(key, shape, sigma=sigma, dtype=dtype))


@pytest.mark.parametrize("Q", [1.0, 2.0, 4.0])
def test_sigma_moment_clt_band(key, Q):
    # Without spikes the bulk is the whole spectrum and σ̂²_moment = tr(X)/M = Σw²/(NM) exactly,
    # so sd(σ̂_moment) = σ/√(2NM) (delta method). Band: 3.29 sd, false-failure rate 0.1%.
    M, sigma = 300, 1.7
    N = int(Q * M)
    lam = _esd(key, (N, M), sigma)
    fit = ht.fit.marchenko_pastur(lam, Q)
    assert fit.num_spikes == 0 and fit.num_zero == 0 and fit.status == "ok"
    np.testing.assert_allclose(fit.sigma_moment**2, float(jnp.mean(lam)), rtol=1e-12)
    sd = sigma / math.sqrt(2 * N * M)
    assert abs(fit.sigma_moment - sigma) < 3.29 * sd
    assert fit.lambda_plus == pytest.approx(fit.sigma**2 * (1 + Q**-0.5) ** 2, rel=1e-12)
    assert fit.lambda_minus == pytest.approx(fit.sigma**2 * (1 - Q**-0.5) ** 2, rel=1e-12)


def test_sigma_ks_unbiased_and_consistent(key):
    # The KS (CDF) fit: over K independent matrices, |mean(σ̂) − σ| within a t band
    # (t_{0.9995, K-1} · sd/√K: false-failure rate 0.1%), and its spread shrinks with M:
    # eigenvalue statistics fluctuate like 1/M, so going from M = 100 to 400 should cut the RMS
    # error about 4× (we ask for 2×).
    sigma, Q, K = 1.0, 2.0, 8
    rms = {}
    for M in (100, 400):
        keys = jax.random.split(jax.random.fold_in(key, M), K)
        est = np.array(
            [ht.fit.marchenko_pastur(_esd(k, (int(Q * M), M), sigma), Q).sigma for k in keys]
        )
        sd = est.std(ddof=1)
        assert abs(est.mean() - sigma) < stats.t.ppf(0.9995, K - 1) * sd / math.sqrt(K)
        rms[M] = math.sqrt(np.mean((est - sigma) ** 2))
    assert rms[400] < rms[100] / 2


def test_sigma_ks_against_iid_mp_sample(key):
    # A reference: i.i.d. draws from the MP law itself (htrmt.laws), n = 2000. The fitted KS
    # distance is at most the KS distance at the true σ, which the DKW inequality bounds by
    # √(ln(2/δ)/(2n)) with δ = 1e-3 (false-failure rate 0.1%).
    Q, sigma, n = 3.0, 0.8, 2000
    x = ht.laws.marchenko_pastur.sample(key, (n,), Q, sigma, dtype=jnp.float64)
    fit = ht.fit.marchenko_pastur(x, Q, c=50.0)  # a huge margin: no i.i.d. draw is a "spike"
    dkw = math.sqrt(math.log(2 / 1e-3) / (2 * n))
    assert fit.num_spikes == 0
    assert fit.D_bulk < dkw
    d_true = float(ht.spectra.ks_distance(x, lambda t: ht.laws.marchenko_pastur.cdf(t, Q, sigma)))
    assert fit.D_bulk <= d_true + 1e-12
    # σ itself: the CDF is within DKW of the truth, which pins σ² to a relative error of about
    # DKW / max_t(t·f(t)) on the σ-scale; a loose, derived band: |σ̂/σ − 1| < 2·dkw.
    assert abs(fit.sigma / sigma - 1) < 2 * dkw


@pytest.mark.parametrize("Q", [1.0, 2.0])
def test_counts_planted_spikes(key, Q):
    # spiked_covariance with strengths above the BBP threshold Q^(-1/2): the fit must count them
    # all and no more. Margin at the TW1 0.999 quantile: a false extra spike has probability
    # about 0.1% per matrix (4 matrices: 0.4%). The spike positions sit within 4 sd of the BBP
    # location (Gaussian fluctuations, htrmt.laws.bbp): false-failure rate ~ 6e-5 per spike.
    M = 400
    N = int(Q * M)
    strengths = (3.0, 6.0, 12.0)
    for i in range(4):
        W = ht.ensembles.spiked_covariance(
            jax.random.fold_in(key, i), (N, M), spikes=strengths, dtype=jnp.float64
        )
        fit = ht.fit.marchenko_pastur(ht.esd(W), Q, tw_quantile=0.999)
        assert fit.num_spikes == 3, fit
        assert fit.c == pytest.approx(3.27208741)
        loc = np.asarray(ht.laws.bbp.location(jnp.asarray(strengths), Q))
        sd = np.asarray(ht.laws.bbp.fluctuation_std(jnp.asarray(strengths), N, M))
        assert np.all(np.abs(np.sort(fit.spikes) - np.sort(loc)) < 4 * sd + 3.0 / M)
        # σ of the bulk stays near 1 despite the spikes (moment CLT band, 5 sd for the removed
        # spikes' O(1/M) effect on the bulk).
        assert abs(fit.sigma - 1.0) < 0.02
        ww = ht.fit.marchenko_pastur(ht.esd(W), Q, margin="sqrt_tw")
        assert ww.num_spikes == 3
        assert ww.margin == pytest.approx(math.sqrt(ww.tw_scale), rel=1e-12)
        assert ww.c is None and ww.margin_rule == "sqrt_tw"


def test_margins_and_tw_scale():
    # Leading-order Johnstone scale, exactly (√N+√M)(1/√N+1/√M)^(1/3)/N with N = QM.
    for M, Q in ((500, 1.0), (300, 2.5), (1000, 4.0)):
        N = Q * M
        js = (math.sqrt(N) + math.sqrt(M)) * (1 / math.sqrt(N) + 1 / math.sqrt(M)) ** (1 / 3) / N
        assert tw_scale(M, Q) == pytest.approx(js, rel=1e-12)
        assert tw_scale(M, Q, 2.0) == pytest.approx(4 * js, rel=1e-12)
        # Johnstone's β=1 scale uses N − 1: the two agree to O(1/N).
        john = ht.edge.tw_scaling(int(N), M, kind="johnstone").scale
        assert abs(john / tw_scale(M, Q) - 1) < 1.0 / M
    assert tw1_quantile(0.95) == pytest.approx(0.9793, abs=1e-4)
    assert tw1_quantile(0.99) == pytest.approx(2.0234, abs=1e-4)
    tw = pytest.importorskip("TracyWidom")
    assert tw1_quantile(0.9) == pytest.approx(float(tw.TracyWidom(beta=1).cdfinv(0.9)), abs=1e-5)


def test_false_spike_rate_matches_tw_quantile(key):
    # With c at the 0.99 quantile, pure MP matrices show a spike ~1% of the time at large M;
    # at M = 200 the leading-order TW approximation is rougher, so we check the count of
    # 60 matrices against Binomial(60, 0.05): P(X >= 10) ≈ 0.2% (false-failure rate).
    M, Q, K = 200, 2.0, 60
    lam = ht.esd(ht.ensembles.gaussian(key, (K, int(Q * M), M), dtype=jnp.float64))
    n_false = sum(ht.fit.marchenko_pastur(lam[i], Q).num_spikes > 0 for i in range(K))
    assert n_false < 10


@pytest.mark.parametrize("method", ["ks", "edge", "moment"])
def test_methods_and_float32(key, method):
    M, Q = 300, 2.0
    lam32 = _esd(key, (600, M), 1.3, jnp.float32)
    fit = ht.fit.marchenko_pastur(lam32, Q, method=method)
    assert fit.method == method
    # The edge estimate uses one extreme eigenvalue: its error is of order s/λ+ ~ M^(-2/3);
    # 6 TW scales covers TW1's tails (P(|TW1 − E| > 6·1.27) < 1e-4).
    tol = 6 * 1.27 * tw_scale(M, Q) / (1 + Q**-0.5) ** 2 / 2 if method == "edge" else 0.01
    assert abs(fit.sigma - 1.3) < 1.3 * tol + 1e-3
    for f in (fit.sigma, fit.lambda_plus, fit.D_bulk, fit.margin, fit.threshold):
        assert isinstance(f, float) and math.isfinite(f)
    assert fit.sigma_edge**2 * ((1 + Q**-0.5) ** 2 + TW1_MEAN * tw_scale(M, Q)) == pytest.approx(
        float(np.max(np.asarray(lam32))), rel=1e-5
    )


def test_rank_collapse_does_not_break(key):
    # 90% of the eigenvalues are (numerically) zero: they are set aside and counted.
    M, r = 200, 20
    ka, kb = jax.random.split(key)
    W = jax.random.normal(ka, (400, r), jnp.float64) @ jax.random.normal(kb, (r, M), jnp.float64)
    lam = ht.esd(W)
    fit = ht.fit.marchenko_pastur(lam, 2.0)
    assert fit.num_zero == M - r
    assert fit.status == "rank-deficient"
    assert fit.num_bulk + fit.num_spikes == r
    assert all(math.isfinite(v) for v in (fit.sigma, fit.D_bulk, fit.lambda_plus))


def test_bad_input():
    good = np.linspace(0.1, 3.0, 50)
    with pytest.raises(ValueError, match="1-D"):
        ht.fit.marchenko_pastur(good.reshape(5, 10), 2.0)
    with pytest.raises(ValueError, match="NaN"):
        ht.fit.marchenko_pastur(np.r_[good, np.nan], 2.0)
    with pytest.raises(ValueError, match="at least 8"):
        ht.fit.marchenko_pastur(good[:5], 2.0)
    with pytest.raises(ValueError, match="negative"):
        ht.fit.marchenko_pastur(np.r_[good, -1.0], 2.0)
    with pytest.raises(ValueError, match="all zero"):
        ht.fit.marchenko_pastur(np.zeros(20), 2.0)
    with pytest.raises(ValueError, match="at least 8"):
        ht.fit.marchenko_pastur(np.r_[np.zeros(40), good[:3]], 2.0)
    with pytest.raises(ValueError, match="Q"):
        ht.fit.marchenko_pastur(good, 0.5)
    with pytest.raises(ValueError, match="method"):
        ht.fit.marchenko_pastur(good, 2.0, method="mle")
    with pytest.raises(ValueError, match="margin"):
        ht.fit.marchenko_pastur(good, 2.0, margin="wide")
    with pytest.raises(ValueError, match="c must be"):
        ht.fit.marchenko_pastur(good, 2.0, c=-1.0)
    with pytest.raises(TypeError, match="integer"):
        ht.fit.marchenko_pastur(np.arange(50), 2.0)


@pytest.mark.slow
def test_ks_minimiser_is_exact():
    # The active-set KS fit returns the global minimiser of D(σ²): on Gaussian and heavy-tailed
    # spectra, from starts far off and at the optimum itself, no σ² on a dense grid (±3 nats,
    # 3001 points, plus ±0.05 nats around the answer, 2001 points) gives a smaller distance.
    from htrmt.fit._marchenko_pastur import _fit_ks, _ks_exact, _unit_cdf_np, _unit_mp

    rng = np.random.default_rng(7)
    for trial in range(24):
        Q = (1.0, 1.5, 2.0, 4.0)[trial % 4]
        M = int(rng.integers(8, 200))
        N = int(Q * M)
        W = rng.standard_normal((N, M))
        if trial % 2:
            W *= rng.standard_t(3, (N, M))
        lam = np.sort(np.linalg.eigvalsh(W.T @ W / N))
        x = lam[: max(8, int(M * rng.uniform(0.3, 1.0)))]
        med = float(np.median(x))
        s = med * math.exp(rng.uniform(-2.0, 2.0))
        for _ in range(2):  # a far start, then a start at the optimum itself
            s = _fit_ks(x, Q, s)
            d = _ks_exact(x, Q, s)
            grid = np.r_[
                med * np.exp(np.linspace(-3, 3, 3001)), s * np.exp(np.linspace(-0.05, 0.05, 2001))
            ]
            assert d <= min(_ks_exact(x, Q, g) for g in grid) + 1e-12
    # the closed-form CDF and its table agree with the law module
    for Q in (1.0, 3.0):
        t = np.linspace(0.0, 4.5, 2001)
        ref = np.asarray(ht.laws.marchenko_pastur.cdf(jnp.asarray(t), Q))
        np.testing.assert_allclose(_unit_cdf_np(t, 1.0 / Q), ref, atol=1e-14)
        law = _unit_mp(Q)
        scalar = np.array([law.cdf(float(v)) for v in t])
        np.testing.assert_allclose(scalar, ref, atol=1e-14)
        assert np.max(np.abs(np.interp(t, law.xp, law.fp) - ref)) < 1e-7  # the stated bound
        assert law.ppf(0.5) == pytest.approx(float(ht.laws.marchenko_pastur.ppf(0.5, Q)), rel=1e-12)
