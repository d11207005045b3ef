"""BBP spike laws: thresholds, locations, their inverse, and the outlier fluctuations.

The statistical tests sample the library's own spike models (``spiked_covariance``,
``low_rank_signal``) and take the top eigenvalue of ``WᵀW/N`` with a dense eigensolver.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from htrmt.ensembles import low_rank_signal, spiked_covariance
from htrmt.laws import bbp

MODELS = ("covariance", "low_rank")

# Every statistical check below uses a two-sided normal band at false-failure rate 1e-4
# (z = 3.89); at most 12 such checks run by default, so the whole file fails by chance with
# probability below 1.2e-3 (the keys are fixed, so a result is reproducible).
Z = float(stats.norm.isf(0.5e-4))

# O(1/N) bias of the outlier's mean, budgeted as BIAS_B·σ²/N. Simulated (Q = 2, real noise,
# strengths 1.5 to 4, both models; 20000 trials at N = 100, 5000 at N = 400), N·(mean − location)
# was between −0.5 and −1.8 at N = 100 (standard error 0.2–0.6) and between −0.4 and −4.9 at
# N = 400 (standard error 0.9–2): the bias is O(1/N) with |N·bias| ≲ 3σ²; BIAS_B = 10 covers it.
BIAS_B = 10.0


# ---------------------------------------------------------------------------------------------
# Closed-form values
# ---------------------------------------------------------------------------------------------


def test_threshold_values():
    assert bbp.threshold(2.0) == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    assert bbp.threshold(16.0, model="covariance") == pytest.approx(0.25, rel=1e-15)
    assert bbp.threshold(16.0, model="low_rank") == pytest.approx(0.5, rel=1e-15)
    assert bbp.threshold(1.0, model="low_rank") == 1.0
    assert bbp.threshold(1.0, model="covariance") == 1.0


@pytest.mark.parametrize(
    "strength, Q, sigma, model, expected",
    [
        (3.0, 2.0, 1.0, "covariance", 4.0 * (1.0 + 1.0 / 6.0)),  # (1 + 3)(1 + 1/(2·3))
        (1.0, 4.0, 1.0, "covariance", 2.5),  # (1 + 1)(1 + 1/4)
        (1.0, 4.0, 2.0, "covariance", 10.0),  # σ² · 2.5
        (2.0, 2.0, 1.0, "low_rank", 5.625),  # (1 + 4)(1/2 + 4)/4
        (2.0, 2.0, 2.0, "low_rank", 22.5),  # σ² · 5.625
        (1.0, 1.0, 1.0, "low_rank", 4.0),  # Q = 1 threshold is 1: λ+ = 4
        (3.0, 1.0, 1.0, "low_rank", 100.0 / 9.0),  # (1 + 9)(1 + 9)/9
    ],
)
def test_location_values(strength, Q, sigma, model, expected):
    got = bbp.location(strength, Q, sigma, model=model)
    assert float(got) == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("Q", [1.0, 2.0, 7.5])
def test_location_below_threshold_is_lambda_plus(model, Q):
    sigma = 1.3
    lam_plus = sigma**2 * (1 + 1 / math.sqrt(Q)) ** 2
    thr = bbp.threshold(Q, model=model)
    below = np.array([0.0, 0.3 * thr, 0.99 * thr, thr])
    np.testing.assert_allclose(
        np.asarray(bbp.location(below, Q, sigma, model=model)), lam_plus, rtol=1e-14
    )
    # Continuous at the threshold and increasing above it.
    above = thr * np.array([1 + 1e-7, 1.01, 1.5, 3.0])
    loc = np.asarray(bbp.location(above, Q, sigma, model=model))
    assert loc[0] == pytest.approx(lam_plus, rel=1e-6)
    assert np.all(np.diff(loc) > 0) and loc[0] > lam_plus


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_strength_from_location_inverts(model, dtype):
    Q, sigma = 2.5, 0.7
    thr = bbp.threshold(Q, model=model)
    s = jnp.asarray(thr * np.array([1.05, 1.3, 2.0, 5.0, 20.0]), dtype)
    lam = bbp.location(s, Q, sigma, model=model)
    back = bbp.strength_from_location(lam, Q, sigma, model=model)
    assert lam.dtype == dtype and back.dtype == dtype
    rtol = 1e-10 if dtype == jnp.float64 else 2e-3
    np.testing.assert_allclose(np.asarray(back), np.asarray(s), rtol=rtol)
    # At or below the edge (and below the bulk) the inverse is the threshold strength.
    lam_plus = sigma**2 * (1 + 1 / math.sqrt(Q)) ** 2
    edge = jnp.asarray([0.1, lam_plus, lam_plus * (1 - 1e-9)], dtype)
    np.testing.assert_allclose(
        np.asarray(bbp.strength_from_location(edge, Q, sigma, model=model)), thr, rtol=1e-4
    )


@pytest.mark.parametrize("model", MODELS)
def test_jit_and_vmap(model):
    s = jnp.asarray([1.2, 1.7, 3.0])
    eager = bbp.location(s, 2.0, 1.1, model=model)
    jitted = jax.jit(lambda x: bbp.location(x, 2.0, 1.1, model=model))(s)
    mapped = jax.vmap(lambda x: bbp.location(x, 2.0, 1.1, model=model))(s)
    looped = jnp.stack([bbp.location(x, 2.0, 1.1, model=model) for x in s])
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-15)
    np.testing.assert_allclose(np.asarray(mapped), np.asarray(looped), rtol=1e-15)
    inv = jax.jit(lambda x: bbp.strength_from_location(x, 2.0, 1.1, model=model))(eager)
    np.testing.assert_allclose(np.asarray(inv), np.asarray(s), rtol=1e-12)


@pytest.mark.parametrize(
    "strength, N, M, sigma, model, beta, expected",
    [
        # covariance: (2/β)σ⁴(1 + ℓ)²(1 − 1/(Qℓ²))/N; ℓ = 2, Q = 2: 9·7/8 = 7.875.
        (2.0, 800, 400, 1.0, "covariance", 1, math.sqrt(2 * 7.875 / 800)),
        (2.0, 800, 400, 1.0, "covariance", 2, math.sqrt(7.875 / 800)),
        (2.0, 800, 400, 1.5, "covariance", 1, 1.5**2 * math.sqrt(2 * 7.875 / 800)),
        # low rank: (2/β)σ⁴(1 − 1/(QS⁴))(1 + 1/Q + 2S²)/N; S = 2, Q = 2: (31/32)(19/2).
        (2.0, 800, 400, 1.0, "low_rank", 1, math.sqrt(2 * (31 / 32) * 9.5 / 800)),
        (2.0, 800, 400, 1.0, "low_rank", 2, math.sqrt((31 / 32) * 9.5 / 800)),
        (2.0, 800, 400, 0.5, "low_rank", 1, 0.25 * math.sqrt(2 * (31 / 32) * 9.5 / 800)),
        # Q = 1, S = 2: (15/16)(2 + 8) = 9.375.
        (2.0, 500, 500, 1.0, "low_rank", 1, math.sqrt(2 * 9.375 / 500)),
    ],
)
def test_fluctuation_std_values(strength, N, M, sigma, model, beta, expected):
    got = bbp.fluctuation_std(strength, N, M, sigma, model=model, beta=beta)
    assert float(got) == pytest.approx(expected, rel=1e-13)


def test_low_rank_variance_limits():
    # Vanishes at the threshold S⁴ = 1/Q; for large S it tends to 2S² (Var λ ≈ 4S²σ⁴/N,
    # from λ ≈ (S + X₀[u, v])² with X₀[u, v] ~ N(0, σ²/N)).
    for Q in (1.0, 2.0, 10.0):
        thr = bbp.threshold(Q, model="low_rank")
        v = bbp._low_rank_variance(jnp.asarray(thr * (1 + 1e-9)), jnp.asarray(Q))
        assert 0 < float(v) < 1e-7
        big = 1e4
        v = bbp._low_rank_variance(jnp.asarray(big), jnp.asarray(Q))
        assert float(v) / (2 * big**2) == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_fluctuation_std_dtype_and_shape(model, dtype):
    s = jnp.asarray([[1.5, 2.0], [3.0, 4.0]], dtype)
    out = bbp.fluctuation_std(s, 900, 300, 1.2, model=model)
    assert out.dtype == dtype and out.shape == (2, 2)
    ref = np.array(
        [float(bbp.fluctuation_std(float(x), 900, 300, 1.2, model=model)) for x in s.ravel()]
    )
    rtol = 1e-14 if dtype == jnp.float64 else 1e-6
    np.testing.assert_allclose(np.asarray(out).ravel(), ref, rtol=rtol)


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def test_bad_input():
    with pytest.raises(ValueError, match="Q"):
        bbp.threshold(0.5)
    with pytest.raises(ValueError, match="Q"):
        bbp.location(2.0, 0.9)
    with pytest.raises(ValueError, match="Q"):
        bbp.strength_from_location(5.0, 0.9, model="low_rank")
    with pytest.raises(ValueError, match="strength"):
        bbp.location(-0.1, 2.0)
    with pytest.raises(ValueError, match="strength"):
        bbp.location([1.0, -1.0], 2.0, model="low_rank")
    with pytest.raises(ValueError, match="sigma"):
        bbp.location(2.0, 2.0, 0.0)
    for fn, args in [
        (bbp.threshold, (2.0,)),
        (bbp.location, (2.0, 2.0)),
        (bbp.strength_from_location, (5.0, 2.0)),
        (bbp.fluctuation_std, (2.0, 800, 400)),
    ]:
        with pytest.raises(ValueError, match="model"):
            fn(*args, model="additive")
    # fluctuation_std: no outlier at or below the threshold, negative strengths included.
    thr = bbp.threshold(2.0, model="low_rank")
    for s in (0.5 * thr, thr, -1.0):
        with pytest.raises(ValueError, match="strength"):
            bbp.fluctuation_std(s, 800, 400, model="low_rank")
    with pytest.raises(ValueError, match="strength"):
        bbp.fluctuation_std([2.0, 0.5], 800, 400, model="covariance")
    with pytest.raises(ValueError, match="N must be >= M"):
        bbp.fluctuation_std(2.0, 400, 800)
    with pytest.raises(ValueError, match="beta"):
        bbp.fluctuation_std(2.0, 800, 400, beta=4)
    with pytest.raises(ValueError, match="sigma"):
        bbp.fluctuation_std(2.0, 800, 400, -1.0)
    with pytest.raises(TypeError, match="N"):
        bbp.fluctuation_std(2.0, 800.0, 400)


# ---------------------------------------------------------------------------------------------
# Sampled outliers against location and fluctuation_std
# ---------------------------------------------------------------------------------------------

CHUNK = 50


@functools.cache
def _top_eigs(model, N, M, strength, sigma, trials, seed, beta=1):
    """Top eigenvalue of WᵀW/N for ``trials`` samples (numpy float64 array)."""

    def one_chunk(key):
        shape = (CHUNK, N, M)
        if beta == 1:
            if model == "low_rank":
                W = low_rank_signal(key, shape, strengths=(strength,), sigma=sigma)
            else:
                W = spiked_covariance(key, shape, spikes=(strength,), sigma=sigma)
        else:
            # Complex Gaussian noise (E|g|² = 1) and Haar-random complex unit directions.
            kr, ki, ku, kv = jax.random.split(key, 4)
            cplx = jax.lax.complex
            g = cplx(jax.random.normal(kr, shape), jax.random.normal(ki, shape)) / math.sqrt(2)

            def unit(k, n):
                a, b = jax.random.split(k)
                z = cplx(jax.random.normal(a, (CHUNK, n)), jax.random.normal(b, (CHUNK, n)))
                return z / jnp.linalg.norm(z, axis=-1, keepdims=True).astype(z.dtype)

            v = unit(kv, M)
            if model == "low_rank":
                u = unit(ku, N)
                g = g + math.sqrt(N) * strength * u[:, :, None] * jnp.conj(v)[:, None, :]
            else:
                # Rows CN(0, I + ℓ v vᴴ): multiply by Σ^(1/2) = I + (√(1+ℓ) − 1) v vᴴ.
                proj = jnp.einsum("bnm,bm->bn", g, v)
                g = g + (math.sqrt(1 + strength) - 1) * proj[:, :, None] * jnp.conj(v)[:, None, :]
            W = sigma * g
        X = jnp.einsum("bni,bnj->bij", jnp.conj(W), W) / N
        return jnp.linalg.eigvalsh(X)[:, -1]

    if trials % CHUNK:
        raise ValueError("trials must be a multiple of CHUNK")
    f = jax.jit(one_chunk)
    keys = jax.random.split(jax.random.key(seed), trials // CHUNK)
    return np.concatenate([np.asarray(f(k)) for k in keys])


def _check_outlier(model, N, M, strength, sigma, trials, seed, beta=1):
    x = _top_eigs(model, N, M, strength, sigma, trials, seed, beta)
    n = x.size
    Q = N / M
    loc = float(bbp.location(strength, Q, sigma, model=model))
    sd_th = float(bbp.fluctuation_std(strength, N, M, sigma, model=model, beta=beta))
    # Mean: CLT band of the sample mean (using the formula's std) plus the O(1/N) bias budget.
    tol_mean = Z * sd_th / math.sqrt(n) + BIAS_B * sigma**2 / N
    assert abs(x.mean() - loc) < tol_mean, (model, N, strength, x.mean(), loc, tol_mean)
    # Std: the sample std of n draws has relative standard error √((κ − 1)/(4n)), κ the
    # kurtosis (3 for the Gaussian limit law); κ is estimated from the same draws.
    ratio = x.std(ddof=1) / sd_th
    kurt = float(np.mean((x - x.mean()) ** 4) / np.var(x) ** 2)
    tol_sd = Z * math.sqrt((kurt - 1.0) / (4 * n))
    assert abs(ratio - 1) < tol_sd, (model, N, strength, ratio, tol_sd)
    return ratio, tol_sd


@pytest.mark.parametrize(
    "model, strength",
    [
        pytest.param("covariance", 1.5, marks=pytest.mark.slow),
        ("covariance", 4.0),
        pytest.param("low_rank", 1.5, marks=pytest.mark.slow),
        ("low_rank", 3.0),
    ],
)
def test_sampled_outlier_matches_location_and_std(model, strength):
    # Q = 2, N = 400: 400 trials; the std band is about ±13.8 % (the low-rank formula with 4S²
    # instead of 2S² would be 22–27 % off), the mean band ±3.9 sd/√n + 10σ²/N.
    _check_outlier(model, 400, 200, strength, 0.8, 400, seed=11 + int(10 * strength))


@pytest.mark.parametrize("model", MODELS)
def test_sampled_outlier_location_error_shrinks(model):
    # The same check at N = 100 and N = 400 with the same number of trials: the allowed error
    # of the mean (CLT + bias budget) halves, and both sizes must stay within it.
    strength = 2.0
    for N in (100, 400):
        x = _top_eigs(model, N, N // 2, strength, 1.0, 200, 5)
        loc = float(bbp.location(strength, 2.0, model=model))
        sd = float(bbp.fluctuation_std(strength, N, N // 2, model=model))
        tol = Z * sd / math.sqrt(x.size) + BIAS_B / N
        assert abs(x.mean() - loc) < tol, (model, N, x.mean(), loc, tol)


@pytest.mark.slow
@pytest.mark.parametrize(
    "model, strength",
    [("covariance", 1.0), ("covariance", 2.0), ("low_rank", 1.2), ("low_rank", 2.5)],
)
def test_sampled_outlier_large_n(model, strength):
    # N = 1200, M = 600, 400 trials: mean band ≈ 3.9 sd/20 + 10/1200, std band about ±13.8 %;
    # strengths closer to the threshold than the default test.
    _check_outlier(model, 1200, 600, strength, 1.0, 400, seed=23 + int(10 * strength))


@pytest.mark.slow
@pytest.mark.parametrize("model, strength", [("covariance", 2.0), ("low_rank", 1.5)])
def test_sampled_outlier_complex(model, strength):
    # β = 2: the variance halves; N = 600, M = 300, 400 trials.
    _check_outlier(model, 600, 300, strength, 1.0, 400, seed=31, beta=2)
