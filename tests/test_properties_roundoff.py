"""Round-off negatives, exact zeros and rank deficits in the fits, the classifier and the metrics.

Real float32 weight spectra hold round-off values of either sign (``|λ| ~ eps·λ_max``) where a
layer is rank-deficient, and exact zeros where whole units are dead. None of them is data: the
power-law fit drops them, the Marchenko–Pastur fit sets them aside as null eigenvalues and fits
the bulk of the remaining rank ``r`` (an ``N×r`` matrix: ``Q_r = Q·M/r``), and the phase
classifier counts them, whatever their sign, as one null cluster (rank collapse).
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht


def _dead_columns(seed, N, M, dead, sigma, dtype):
    """ESD of an N×M Gaussian matrix whose first ``dead`` columns are zero (dead units)."""
    rng = np.random.default_rng(seed)
    W = sigma * rng.standard_normal((N, M))
    W[:, :dead] = 0.0
    return np.asarray(ht.esd(jnp.asarray(W.astype(dtype))))


def _projected(seed, N, M, deficit, dtype):
    """ESD of an N×M Gaussian matrix with a random ``deficit``-dimensional null space.

    ``W = G (I − V Vᵀ)``, V an orthonormal M×deficit frame: the live part is an N×(M − deficit)
    Gaussian matrix in rotated coordinates (MP with ``Q = N/(M − deficit)``), and the null
    eigenvalues come out of the eigensolver as round-off of either sign, not as exact zeros.
    """
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((N, M))
    V = np.linalg.qr(rng.standard_normal((M, deficit)))[0]
    W = (G - (G @ V) @ V.T).astype(dtype)
    return np.asarray(ht.esd(jnp.asarray(W)))


def _low_rank(seed, N, M, r, dtype):
    """ESD of a heavy-tailed rank-r product ``A @ B`` (A N×r, B r×M) computed in ``dtype``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_t(3, (N, r)).astype(dtype)
    B = rng.standard_t(3, (r, M)).astype(dtype)
    return np.asarray(ht.esd(jnp.asarray(A @ B)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classify_counts_roundoff_of_either_sign_as_one_null_cluster(dtype):
    # 184 of the 384 eigenvalues are round-off, about half of them negative. Clipping the
    # negatives to 0 and measuring gaps in log10 λ put a ~290-decade gap between them and the
    # positive round-off, so only the negatives were counted as null, and the bulk fit was
    # handed zero_tol = 0: the positive round-off became its bulk (σ ~ 0.02 instead of ~49).
    N, M, r = 512, 384, 200
    lam = _low_rank(0, N, M, r, dtype)
    assert np.sum(lam < 0) > 0.1 * M and np.sum(np.abs(lam) < 1e-4 * lam[-1]) == M - r
    Q = N / M
    ref = ht.fit.marchenko_pastur(lam, Q)  # its own round-off tolerance M·eps·λ_max
    assert ref.num_zero == M - r
    noise = lam[: M - r]
    variants = {
        "as computed": lam,
        "exact zeros": np.r_[np.zeros(M - r, dtype), lam[M - r :]],
        "all positive": np.r_[np.abs(noise), lam[M - r :]],
        "all negative": np.r_[-np.abs(noise), lam[M - r :]],
    }
    for name, x in variants.items():
        res = ht.phases.classify(x.astype(dtype), Q, fit_powerlaw=False)
        assert res.phase == "rank-collapse", name
        assert res.num_null == M - r, name
        assert res.mp.num_zero == M - r, name
        assert res.mp.sigma == pytest.approx(ref.sigma, rel=1e-12), name
        assert res.num_outliers == ref.num_spikes, name


def test_classify_roundoff_below_the_collapse_fraction_is_not_bulk():
    # A 5% rank deficit in float32: 25 round-off eigenvalues of either sign, too few for a rank
    # collapse. The bulk fit must not depend on the sign of the round-off: with zero_tol = 0 the
    # positive ones were bulk eigenvalues (the bulk KS distance jumps by their fraction).
    N, M, dead = 1000, 500, 25
    lam = _projected(1, N, M, dead, np.float32)
    assert np.all(np.abs(lam[:dead]) < 1e-5 * lam[-1]) and lam[dead] > 1e-2 * lam[-1]
    assert 0 < np.sum(lam < 0) < dead
    out = {}
    for name, x in {
        "as computed": lam,
        "exact zeros": np.r_[np.zeros(dead, np.float32), lam[dead:]],
        "all positive": np.r_[np.abs(lam[:dead]), lam[dead:]],
    }.items():
        res = ht.phases.classify(x, N / M, fit_powerlaw=False)
        assert res.num_null == 0 and res.mp.num_zero == dead, name
        out[name] = res
    s = {k: v.mp.sigma for k, v in out.items()}
    assert s["as computed"] == s["exact zeros"] == s["all positive"]
    assert {v.phase for v in out.values()} == {"random-like"}


@pytest.mark.parametrize("Q,dead_fraction", [(1.0, 0.05), (2.0, 0.05), (2.0, 0.3), (4.0, 0.5)])
def test_mp_bulk_of_a_rank_deficient_layer_is_that_of_its_rank(Q, dead_fraction):
    # Dead units (zero columns) put exact zeros into the ESD; the other eigenvalues are those of
    # the live N×r part, an MP law with Q_r = N/r. Fitting them with MP(Q) biased σ (at Q = 1,
    # 30% dead: σ = 1.12 instead of 1.00; 5% dead: 1.017, bulk D 0.022 against 0.007) and moved
    # λ+ above the largest eigenvalue. The fit of the whole ESD with Q must equal the fit of the
    # live part's ESD with Q_r (equal up to the eigensolver's rounding on the larger matrix).
    M = 400
    N = int(Q * M)
    dead = int(dead_fraction * M)
    r = M - dead
    lam = _dead_columns(2, N, M, dead, 1.3, np.float64)
    live = lam[dead:]
    fit = ht.fit.marchenko_pastur(lam, Q)
    ref = ht.fit.marchenko_pastur(live, N / r)
    assert fit.num_zero == dead and fit.num_bulk + fit.num_spikes == r
    assert fit.Q == pytest.approx(N / r, rel=1e-12)
    for f in ("sigma", "lambda_plus", "lambda_minus", "D_bulk", "threshold", "tw_scale"):
        assert getattr(fit, f) == pytest.approx(getattr(ref, f), rel=1e-9), f
    assert fit.num_spikes == ref.num_spikes == 0
    assert fit.status == ("rank-deficient" if dead > 0.1 * M else "ok")
    assert fit.lambda_plus == pytest.approx(fit.sigma**2 * (1 + fit.Q**-0.5) ** 2, rel=1e-12)
    # the live part is a plain Gaussian matrix: σ within the KS fit's accuracy at this size
    # (its RMS error is below 1% at M >= 100, test_fit_marchenko_pastur) and λ+ above λ_max
    # minus a few TW scales
    assert abs(fit.sigma - 1.3) < 0.03 * 1.3
    assert lam[-1] < fit.threshold


def test_mp_fit_ignores_appended_zeros_with_the_matching_aspect_ratio():
    # Appending z zeros to an M-spectrum is the ESD of the same matrix with z dead columns:
    # aspect ratio N/(M + z). The fit must not change.
    rng = np.random.default_rng(5)
    N, M = 900, 300
    lam = np.asarray(ht.esd(jnp.asarray(rng.standard_normal((N, M)))))
    base = ht.fit.marchenko_pastur(lam, N / M)
    for z in (3, 30, 300, 600):  # N >= M + z: still a tall matrix
        fit = ht.fit.marchenko_pastur(np.r_[np.zeros(z), lam], N / (M + z))
        assert fit.num_zero == z
        assert fit.sigma == pytest.approx(base.sigma, rel=1e-12)
        assert fit.num_spikes == base.num_spikes and fit.num_bulk == base.num_bulk
        assert fit.D_bulk == pytest.approx(base.D_bulk, rel=1e-9)
        assert math.isfinite(fit.lambda_plus)
