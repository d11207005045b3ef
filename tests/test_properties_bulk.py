"""Property-based tests (hypothesis) of the Marchenko–Pastur bulk fit, the phase classifier
and the spectral metrics: scale laws, order, null eigenvalues and rank deficits, float32 input.

Spectra, padding and settings are those of ``test_properties.py`` (its docstring says why every
spectrum is padded to one length). The MP fit and the classifier run on the host in float64.
"""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_properties import EPS32, EPS64, L_OTHER, L, _pad, _pareto, _settings, spectra

import htrmt as ht
from htrmt.fit._marchenko_pastur import _ks_exact, _unit_mp

# ---------------------------------------------------------------------------------------------
# Marchenko–Pastur bulk fit and the phase classifier (host code, float64 inside)
# ---------------------------------------------------------------------------------------------


@st.composite
def bulks(draw):
    """(evals, Q, z): an N×M layer of rank r = M − z, its ESD in float64 (shuffled).

    The live part is r i.i.d. draws from MP(N/r, σ) (an N×r random matrix), maybe with a heavy
    tail or spikes; the z null eigenvalues are exact zeros or round-off of either sign, below
    half of the round-off level M·eps·λ_max.
    """
    seed = draw(st.integers(0, 2**32 - 1))
    M = draw(st.integers(8, 600))
    Q0 = draw(st.floats(1.0, 4.0))
    null_frac = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.6)))
    sigma2 = 10.0 ** draw(st.floats(-6.0, 6.0))
    shape = draw(st.sampled_from(["bulk", "spikes", "heavy"]))
    rng = np.random.default_rng(seed)
    N = max(M, int(round(Q0 * M)))
    z = min(int(null_frac * M), M - 8)
    r = M - z
    law = _unit_mp(N / r)
    live = np.interp(rng.random(r), law.fp, law.xp)
    if shape == "spikes":
        ns = int(rng.integers(1, 5))
        live[:ns] = law.b * (1.5 + 10 * rng.random(ns))
    elif shape == "heavy":
        nt = max(1, r // 10)
        live[:nt] = law.b * _pareto(rng, nt, 2.5)
    live = np.where(live > 0, live, law.b) * sigma2
    top = float(live.max())
    tol = M * EPS64 * top
    noise = np.where(rng.random(z) < 0.3, 0.0, (rng.random(z) - 0.5) * tol)
    return rng.permutation(np.r_[noise, live]), N / M, z


@pytest.mark.parametrize("method", ["ks", "edge", "moment"])
@_settings(40)
@given(b=bulks(), log_c=st.floats(-6.0, 6.0), seed=st.integers(0, 2**32 - 1))
def test_mp_fit_scale_order_nulls_and_rank(method, b, log_c, seed):
    lam, Q, z = b
    M = lam.size
    rng = np.random.default_rng(seed)
    c = 10.0**log_c
    fit = ht.fit.marchenko_pastur(lam, Q, method=method)
    assert fit.num_zero == z and fit.num_bulk + fit.num_spikes == M - z
    assert fit.Q == pytest.approx(Q * M / (M - z), rel=1e-15)
    assert fit.lambda_plus == pytest.approx(fit.sigma**2 * (1 + fit.Q**-0.5) ** 2, rel=1e-14)
    assert fit.status == ("rank-deficient" if z > 0.1 * M else "ok") or not fit.converged
    # order does not matter (bit for bit)
    p = ht.fit.marchenko_pastur(rng.permutation(lam), Q, method=method)
    assert (p.sigma, p.num_spikes, p.D_bulk) == (fit.sigma, fit.num_spikes, fit.D_bulk)
    # c·λ: σ² -> c·σ², the same bulk and spikes. The KS solve ends on a Newton step of at most
    # 1e-8 in ln σ² (error ~ its square); the rest is the rounding of c·λ: 1e-12 is ample.
    g = ht.fit.marchenko_pastur(c * lam, Q, method=method)
    assert (g.num_spikes, g.num_bulk, g.num_zero) == (fit.num_spikes, fit.num_bulk, z)
    assert g.sigma**2 == pytest.approx(c * fit.sigma**2, rel=1e-12)
    assert g.lambda_plus == pytest.approx(c * fit.lambda_plus, rel=1e-12)
    assert abs(g.D_bulk - fit.D_bulk) <= 1e-12
    # the null values' sign and size do not matter: exact zeros give the same fit
    live = np.sort(lam)[z:]
    zeros = ht.fit.marchenko_pastur(np.r_[np.zeros(z), live], Q, method=method)
    assert (zeros.sigma, zeros.num_spikes, zeros.D_bulk) == (fit.sigma, fit.num_spikes, fit.D_bulk)
    # the fit is that of the N×r live part (Q_r = N/r), and appending zeros (dead units, so
    # Q -> N/(M + k)) changes nothing; zero_tol is fixed (its default grows with M)
    N = Q * M
    if z:
        ref = ht.fit.marchenko_pastur(live, N / (M - z), method=method, zero_tol=fit.zero_tol)
        assert ref.num_spikes == fit.num_spikes
        assert ref.sigma == pytest.approx(fit.sigma, rel=1e-12)
    k = int(rng.integers(1, 2 * M))
    if N >= M + k:
        more = ht.fit.marchenko_pastur(
            np.r_[np.zeros(k), lam], N / (M + k), method=method, zero_tol=fit.zero_tol
        )
        assert more.num_zero == z + k and more.num_spikes == fit.num_spikes
        assert more.sigma == pytest.approx(fit.sigma, rel=1e-12)
        assert abs(more.D_bulk - fit.D_bulk) <= 1e-12


@pytest.mark.parametrize("method", ["ks", "edge", "moment"])
@_settings(40)
@given(b=bulks())
def test_mp_fit_float32_input(method, b):
    # Rounding λ to float32 moves every eigenvalue by at most eps32/2 relative. σ² (a crossing
    # of two KS terms, a mean, or an extreme value of the bulk) moves by at most that much when
    # the same eigenvalues are involved; we allow 2·eps32 (4×). D_bulk moves by at most
    # max_t t·f(t) = √Q/π (unit-σ MP density f) times the relative change of λ/σ², <= 2.5 eps32.
    lam, Q, z = b
    f64 = ht.fit.marchenko_pastur(lam, Q, method=method)
    f32 = ht.fit.marchenko_pastur(lam.astype(np.float32), Q, method=method, zero_tol=f64.zero_tol)
    if (f32.num_bulk, f32.num_zero) != (f64.num_bulk, f64.num_zero):
        # only an eigenvalue within float32 rounding of the spike threshold can change sides
        gap = np.min(np.abs(np.sort(lam)[z:] / f64.threshold - 1))
        assert gap <= 8 * EPS32
        return
    dD = 2.5 * EPS32 * math.sqrt(f64.Q) / math.pi + 1e-15
    if method == "ks" and f32.sigma**2 != pytest.approx(f64.sigma**2, rel=2 * EPS32):
        # The KS search picks the two maximising eigenvalues from a table of the CDF good to
        # 1e-7: where two deviations tie to within that, rounding may pick the other pair. The
        # crossing of any pair of maximisers is within 2e-7 of the minimum D (its value there
        # is at most min D, every other deviation at most 2e-7 above the picked ones), so both
        # fits are near-minimisers of the same objective.
        bulk = np.sort(lam)[z : z + f64.num_bulk]
        assert abs(f32.D_bulk - f64.D_bulk) <= 2e-7 + dD
        assert _ks_exact(bulk, f64.Q, f32.sigma**2) <= f64.D_bulk + 2e-7 + 2 * dD
        return
    assert f32.sigma**2 == pytest.approx(f64.sigma**2, rel=2 * EPS32)
    assert abs(f32.D_bulk - f64.D_bulk) <= dD


@_settings(60)
@given(b=bulks(), log_c=st.floats(-6.0, 6.0), seed=st.integers(0, 2**32 - 1))
def test_classify_invariances_and_null_cluster(b, log_c, seed):
    lam, Q, z = b
    M = lam.size
    rng = np.random.default_rng(seed)
    a = ht.phases.classify(lam, Q, fit_powerlaw=False)
    # the null eigenvalues (exact zeros or round-off of either sign) are one cluster: a rank
    # collapse when they are >= 10% of M, and never part of the bulk
    assert a.num_null == (z if z >= 0.1 * M else 0)
    if a.num_null:
        assert a.phase == "rank-collapse"
    assert a.mp is not None and a.mp.num_zero == z
    assert a.phase in ht.phases.PHASES

    def key(r):
        return (r.phase, r.num_null, r.num_outliers, r.num_separated, r.num_leaking)

    # order: bit for bit
    p = ht.phases.classify(rng.permutation(lam), Q, fit_powerlaw=False)
    assert key(p) == key(a) and (p.ratio, p.max_gap, p.D_bulk) == (a.ratio, a.max_gap, a.D_bulk)
    # the nulls' signs and sizes: exact zeros give the same verdict and bulk fit
    zeros = np.r_[np.zeros(z), np.sort(lam)[z:]]
    q = ht.phases.classify(zeros, Q, fit_powerlaw=False)
    assert key(q) == key(a) and q.mp.sigma == a.mp.sigma
    # scale: every feature is a ratio (the bulk fit's σ² moves by 1e-12 at most, see above)
    c = 10.0**log_c
    g = ht.phases.classify(c * lam, Q, fit_powerlaw=False)
    assert key(g) == key(a)
    assert g.ratio == pytest.approx(a.ratio, rel=1e-11)
    assert g.max_gap == pytest.approx(a.max_gap, rel=1e-9, abs=1e-9)
    if a.num_null:
        assert g.null_gap_decades == pytest.approx(a.null_gap_decades, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def _sum_tol(n, eps):
    """Relative error bound of a sum of n non-negative terms in any order (first order)."""
    return (n + 2) * eps


@_settings(30)
@given(x=spectra(), log_c=st.floats(-6.0, 6.0), a=st.floats(1.5, 6.0))
def test_metric_scale_laws(x, log_c, a):
    M = ht.metrics
    c = 10.0**log_c
    xp, cxp = jnp.asarray(_pad(x)), jnp.asarray(_pad(c * x))
    tol = _sum_tol(L, EPS64)
    ln10 = math.log(10)
    # log10 Σλ and log10 λ_max shift by log10 c; Σλ^α by α·log10 c
    assert abs(float(M.log_norm(cxp) - M.log_norm(xp)) - log_c) <= (
        2 * tol / ln10 + 4 * EPS64 * (1 + abs(log_c))
    )
    assert abs(float(M.log_spectral_norm(cxp) - M.log_spectral_norm(xp)) - log_c) <= 8 * EPS64 * (
        1 + abs(log_c) + abs(math.log10(x.max()))
    )
    # each λ^α is off by 2·eps·(1 + α·|ln λ|) relative (pow), the sum as any sum
    lmax = max(float(np.max(np.abs(np.log(x)))), float(np.max(np.abs(np.log(c * x)))))
    lan = float(M.log_alpha_norm(cxp, alpha=a) - M.log_alpha_norm(xp, alpha=a))
    assert abs(lan - a * log_c) <= 2 * (tol + 2 * EPS64 * (1 + a * lmax)) / ln10 + 4 * EPS64
    wa = float(M.alpha_weighted(cxp, alpha=a) - M.alpha_weighted(xp, alpha=a))
    assert abs(wa - a * log_c) <= 8 * a * EPS64 * (1 + abs(log_c) + abs(math.log10(x.max())))
    # ratios: scale-free
    assert float(M.stable_rank(cxp)) == pytest.approx(float(M.stable_rank(xp)), rel=3 * tol)
    assert int(M.hard_rank(cxp)) == int(M.hard_rank(xp))
    R = int(M.hard_rank(xp))
    h = float(M.entropy(xp))
    # p_i = λ_i/Σλ moves by (n+2)·eps relative each; -Σ p ln p then by at most that times
    # Σ p|1 + ln p| <= 1 + ln R, and the ratio to ln R
    dh = 2 * tol * (1 + math.log(max(R, 2))) / math.log(max(R, 2))
    assert abs(float(M.entropy(cxp)) - h) <= dh + 1e-15
    assert 0.0 <= h <= 1.0 + 1e-12
    assert 1.0 - 1e-12 <= float(M.stable_rank(xp)) <= R + 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@_settings(20)
@given(x=spectra(max_n=L - 1), seed=st.integers(0, 2**32 - 1))
def test_metrics_ignore_zeros_and_roundoff_negatives(dtype, x, seed):
    # More zeros (a longer ESD of the same layer with dead units) and round-off negatives
    # (within the round-off level M·eps·λ_max, the metrics' own tolerance) change nothing: α
    # bit for bit, the sums to rounding, the ranks exactly (at a fixed rtol).
    M = ht.metrics
    rng = np.random.default_rng(seed)
    eps = EPS32 if dtype == np.float32 else EPS64
    x = x.astype(dtype)
    top = float(x.max())
    base = jnp.asarray(_pad(x))
    k = L_OTHER - x.size
    neg = np.where(rng.random(k) < 0.5, 0.0, -0.5 * L * eps * top * rng.random(k))
    other = jnp.asarray(rng.permutation(_pad(x, L_OTHER, neg.astype(dtype))))
    if dtype == np.float64:  # (float32: test_rank_deficient_float32_layer, other lengths)
        assert float(M.alpha(other)) == float(M.alpha(base))
    assert float(M.log_spectral_norm(other)) == float(M.log_spectral_norm(base))
    tol = _sum_tol(L_OTHER, eps)
    d = float(M.log_norm(other)) - float(M.log_norm(base))
    assert abs(d) <= 2 * tol / math.log(10) + 4 * eps
    assert float(M.stable_rank(other)) == pytest.approx(float(M.stable_rank(base)), rel=3 * tol)
    rtol = L_OTHER * eps
    R = int(M.hard_rank(base, rtol=rtol))
    assert int(M.hard_rank(other, rtol=rtol)) == R
    dh = 2 * tol * (1 + math.log(max(R, 2))) / math.log(max(R, 2))
    assert (
        abs(float(M.entropy(other, rtol=rtol)) - float(M.entropy(base, rtol=rtol))) <= dh + 4 * eps
    )


@_settings(20)
@given(x=spectra())
def test_metrics_float32_agree_with_float64(x):
    # The same float32 data: the sums differ by the float32 rounding of a sum of L terms.
    M = ht.metrics
    x32 = _pad(x.astype(np.float32))
    x64 = x32.astype(np.float64)
    tol = _sum_tol(L, EPS32)
    for f in (M.log_norm, M.log_spectral_norm):
        v32, v64 = f(jnp.asarray(x32)), f(jnp.asarray(x64))
        assert v32.dtype == jnp.float32
        assert abs(float(v32) - float(v64)) <= tol / math.log(10) + 4 * EPS32 * abs(float(v64))
    s32, s64 = M.stable_rank(jnp.asarray(x32)), M.stable_rank(jnp.asarray(x64))
    assert float(s32) == pytest.approx(float(s64), rel=2 * tol)
    rtol = L * EPS32
    R = int(M.hard_rank(jnp.asarray(x64), rtol=rtol))
    assert int(M.hard_rank(jnp.asarray(x32), rtol=rtol)) == R or np.any(
        np.abs(x64[x64 > 0] / (rtol * x64.max()) - 1) <= 4 * EPS32
    )


def test_mp_ks_solve_is_scale_equivariant():
    # Found by test_mp_fit_scale_order_nulls_and_rank: the pair equation of the KS fit is
    # solved by safeguarded Newton. Once a bracket end was the root to rounding, every Newton
    # point landed on it and was taken for a step outside the bracket: the solve bisected down
    # to its 1e-8 stopping step and returned a midpoint 1e-8 away from the root. Rescaling the
    # data (c = 10^-0.573 here) hit this and moved σ² by 1.35e-8 relative; now 1e-16.
    lam = np.array(
        [0.61430199, 0.42723742, 1.3049964, 1.71005975, 1.70607599, 2.63819191, 0.67673242]
        + [0.83136108, 0.56188459, 0.99249498, 0.64462031, 1.47420957, 1.50792763]
        + [0.33695556, 1.1914052, 0.6019409]
    )
    base = ht.fit.marchenko_pastur(lam, 4.0)
    for log_c in (-0.5728643216080407, -0.8140703517587946, 0.46875, 3.0):
        c = 10.0**log_c
        fit = ht.fit.marchenko_pastur(c * lam, 4.0)
        assert fit.sigma**2 == pytest.approx(c * base.sigma**2, rel=1e-13)
        assert fit.D_bulk == pytest.approx(base.D_bulk, rel=1e-13)
