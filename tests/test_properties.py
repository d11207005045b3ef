"""Property-based tests (hypothesis) of the power-law fit, its scan and its credibility: scale
invariance, order, non-positive values, float32, tiny and degenerate data, a real float32 layer.
(The tail laws: ``test_properties_tails.py``; the MP fit, the classifier and the metrics:
``test_properties_bulk.py``; both use the spectra and helpers defined here.)

Spectra are built from hypothesis-drawn seeds with numpy ``default_rng(seed)``: Pareto tails
(α in [1.5, 6]), a uniform body under a Pareto tail, i.i.d. MP bulks with spikes, 12 decades
of log-uniform values under a tail, and ties (values rounded to two digits), each times a scale
10^[-12, 6]. Every example is deterministic (``derandomize=True``, no example database).

Fixed shapes: each jitted fit compiles once per shape and option set, so every realistic
spectrum (20 to 2048 values) is padded to ``L = 2048`` with zeros. That is sound because of
``test_powerlaw_scale_order_and_nonpositive_values`` (exact equality of every field, with
non-positive values of every kind anywhere, and in another number).

Tolerances are rounding bounds, not fitted numbers. For the power law (``_rounding_bounds``):
with ``u = eps`` of the working precision, each ``ln x`` is off by at most ``2u·|ln x|`` (a log
accurate to 2 ulp), and the suffix sum ``T = Σ ln(x_i/xmin)`` of ``m`` non-negative terms by at
most ``(m + 2)·u·T`` in any summation order; the mean log ``S = T/m`` is then off by
``ΔS = u·(4·max|ln x| + (m + 2)·S)``, and α by ``ΔS/S²`` (``α = 1 + 1/S``) or, with an xmax, by
the truncated MLE's partial derivatives (by finite differences of a float64 reference) times
the errors of S and ``R = ln(xmax/xmin)``, plus the bisection's final bracket. D moves by the
change of the fitted CDF under ``Δα`` and under the rounding of ``ln(x/xmin)``, plus ``8u``.
Two fits of equivalent data may differ by the sum of their bounds. These hold with a margin of
about 10× on the worst of a few hundred spectra and 100× typically (float32 against float64).

The fit takes ``xmin = argmin D`` over candidates: when two candidates' D agree to within
rounding, a rescaled or float32 copy may pick the other one. That is accepted only when the
two fits' D agree within their bounds *and* the float64 reference D at the other candidate is
within the bounds of the minimum: a flip, never a different fit.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from hypothesis import example, given, settings
from hypothesis import strategies as st

import htrmt as ht
from htrmt.fit import _powerlaw as P
from htrmt.fit._marchenko_pastur import _unit_mp

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
L = 2048  # every realistic spectrum is padded to this length (one compilation per option set)
L_OTHER = 2560  # a second length: the same data with another number of non-positive values
L_TINY = 12  # tiny spectra (2 to 12 values) are padded to this length
KINDS = ("pareto", "body_tail", "mp_spikes", "wide", "ties")


def _settings(n):
    return settings(max_examples=n, deadline=None, derandomize=True, database=None)


# ---------------------------------------------------------------------------------------------
# Spectra
# ---------------------------------------------------------------------------------------------


def _pareto(rng, n, alpha):
    return (1 - rng.random(n)) ** (-1 / (alpha - 1))


def _spectrum(seed, kind, n, alpha, scale):
    """A positive spectrum of n values (float64, shuffled)."""
    rng = np.random.default_rng(seed)
    if kind == "pareto":
        x = _pareto(rng, n, alpha)
    elif kind == "body_tail":
        nt = max(3, n // 3)
        x = np.r_[rng.uniform(0.2, 1.0, n - nt), _pareto(rng, nt, alpha)]
    elif kind == "mp_spikes":  # i.i.d. draws from MP(Q) and a few spikes above its edge
        law = _unit_mp(float(1 + 3 * rng.random()))
        ns = int(rng.integers(0, n // 20 + 1))
        bulk = np.interp(rng.random(n - ns), law.fp, law.xp)
        x = np.r_[bulk, law.b * (1 + _pareto(rng, ns, alpha))]
        x = np.where(x > 0, x, law.b)
    elif kind == "wide":  # 12 decades of log-uniform values under a Pareto tail
        nt = max(3, n // 4)
        x = np.r_[10 ** rng.uniform(-12, 0, n - nt), _pareto(rng, nt, alpha)]
    else:  # ties: a Pareto sample rounded to two significant digits
        x = _pareto(rng, n, alpha)
        mant = 10.0 ** np.floor(np.log10(x))
        x = np.round(x / mant, 1) * mant
    return rng.permutation(x * scale)


@st.composite
def spectra(draw, max_n=L):
    kind = draw(st.sampled_from(KINDS))
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(20, max_n))
    alpha = draw(st.floats(1.5, 6.0))
    log_scale = draw(st.floats(-12.0, 6.0))
    return _spectrum(seed, kind, n, alpha, 10.0**log_scale)


def _pad(x, length=L, fill=None):
    fill = np.zeros(length - x.size, x.dtype) if fill is None else fill
    return np.concatenate([x, fill.astype(x.dtype)])


def _nonpositive(rng, k, top):
    """k non-positive values: exact zeros, -0.0, round-off negatives, tiny and large negatives."""
    kind = rng.integers(0, 5, k)
    u = rng.random(k)
    vals = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3],
        [np.zeros(k), np.full(k, -0.0), -1e-9 * top * u, np.full(k, -1e-300)],
        -top * u,
    )
    return vals


# ---------------------------------------------------------------------------------------------
# A float64 reference for one candidate xmin, and the rounding bounds (module docstring).
# ---------------------------------------------------------------------------------------------


def _trunc_beta(S, R):
    """β of the power law truncated to [xmin, xmax]: ``1/β − R/expm1(βR) = S``."""

    def g(b):
        t = b * R
        if abs(t) < 1e-6:
            return R * (0.5 - t / 12) - S
        return 1 / b - R / math.expm1(t) - S

    lo, hi = -1.0 / R, 1.0 / R
    while g(lo) < 0:
        lo *= 2
    while g(hi) > 0:
        hi *= 2
    return scipy.optimize.brentq(g, lo, hi, xtol=1e-300, rtol=4 * EPS64, maxiter=500)


def _cdf(dL, beta, R):
    if R is None:
        return -np.expm1(-beta * dL)
    if abs(beta * R) < 1e-12:
        return dL / R
    return np.expm1(-beta * dL) / np.expm1(-beta * R)


def _tail(x, xmin, xmax):
    x = np.sort(np.asarray(x, np.float64))
    return x[(x >= xmin) & (x <= (np.inf if xmax is None else xmax))]


def _at_xmin(x, xmin, ks, xmax=None):
    """(α, D, m) of the tail ``xmin <= x <= xmax``, straight from the definitions (float64)."""
    t = _tail(x, xmin, xmax)
    m = t.size
    dL = np.log(t / xmin)
    S = float(np.mean(dL))
    R = None if xmax is None else math.log(xmax / xmin)
    beta = 1 / S if R is None else _trunc_beta(S, R)
    F = _cdf(dL, beta, R)
    lo = np.searchsorted(t, t, "left") / m
    up = np.searchsorted(t, t, "right") / m
    D = max(np.max(F - lo), np.max((lo if ks == "powerlaw" else up) - F), 0.0)
    return 1 + beta, D, m


def _rounding_bounds(x, xmin, xmax, dtype):
    """First-order bounds on |Δα| and |ΔD| of a fit at xmin computed in ``dtype``."""
    eps = EPS32 if dtype == np.float32 else EPS64
    iters = 40 if dtype == np.float32 else 80  # the truncated MLE's bisection steps
    t = _tail(x, xmin, xmax)
    m = t.size
    lmax = max(float(np.max(np.maximum(np.abs(np.log(t)), 1.0))), abs(math.log(xmin)), 1.0)
    dL = np.log(t / xmin)
    S = float(np.mean(dL))
    dS = eps * (4 * lmax + (m + 2) * S)
    if xmax is None:
        R = None
        beta = 1 / S
        db = dS / S**2 + eps * beta
    else:
        R = math.log(xmax / xmin)
        dR = eps * (2 * (max(abs(math.log(xmax)), 1.0) + lmax) + R)
        beta = _trunc_beta(S, R)
        hS, hR = 1e-6 * S, 1e-6 * R
        bS = (_trunc_beta(S + hS, R) - _trunc_beta(S - hS, R)) / (2 * hS)
        bR = (_trunc_beta(S, R + hR) - _trunc_beta(S, R - hR)) / (2 * hR)
        s = S / R
        bracket = (1 / s + 1 / (1 - s) + 2) / 2.0**iters / R
        db = abs(bS) * dS + abs(bR) * dR + eps * abs(beta) + bracket
    da = db + eps * (1 + abs(beta))
    dF_beta = float(np.max(np.abs(_cdf(dL, beta + db, R) - _cdf(dL, beta, R))))
    h = 1e-7 * max(1.0, float(np.max(dL)))
    dens = np.abs(_cdf(dL + h, beta, R) - _cdf(np.maximum(dL - h, 0), beta, R)) / (2 * h)
    dD = dF_beta + float(np.max(dens)) * 4 * eps * lmax + 8 * eps
    return da, dD


def _fields(f):
    names = ("alpha", "xmin", "xmax", "D", "sigma", "num_tail", "status", "num_data", "loglik")
    return {k: np.asarray(getattr(f, k)) for k in names}


def _assert_same_fit(f, g):
    a, b = _fields(f), _fields(g)
    for k in a:
        assert np.array_equal(a[k], b[k], equal_nan=True), (k, a[k], b[k])


def _check_pair(x1, f1, dt1, x2, f2, dt2, ks, xmax1, xmax2, c=1.0):
    """Fits of the same data (x2 = c·x1 up to rounding, in dtypes dt1, dt2) are the same fit,
    or a flip between two candidates whose D agree to rounding."""
    assert int(f1.status) == int(f2.status)
    if not bool(f1.ok):
        return
    x1s = np.sort(x1[x1 > 0])
    x2s = np.sort(x2[x2 > 0])
    k1 = int(np.searchsorted(x1s, float(f1.xmin)))
    k2 = int(np.searchsorted(x2s, float(f2.xmin)))
    assert float(f1.xmin) == float(x1s[k1]) and float(f2.xmin) == float(x2s[k2])
    a1, d1 = _rounding_bounds(x1s, float(f1.xmin), xmax1, dt1)
    a2, d2 = _rounding_bounds(x2s, float(f2.xmin), xmax2, dt2)
    # each fit is its tail's MLE and KS distance (float64 reference), to rounding
    for xs, f, da, dd, xm in ((x1s, f1, a1, d1, xmax1), (x2s, f2, a2, d2, xmax2)):
        ra, rd, rm = _at_xmin(xs, float(f.xmin), ks, xm)
        assert int(f.num_tail) == rm
        assert abs(float(f.alpha) - ra) <= da
        assert abs(float(f.D) - rd) <= dd
    assert abs(float(f1.D) - float(f2.D)) <= d1 + d2
    if k1 == k2:
        assert int(f1.num_tail) == int(f2.num_tail)
        assert abs(float(f1.alpha) - float(f2.alpha)) <= a1 + a2
        assert float(f2.xmin) == pytest.approx(c * float(f1.xmin), rel=2 * EPS32)
    else:
        # a flip: the first fit's D at the second's candidate is its minimum, to rounding
        _, d_alt, _ = _at_xmin(x1s, float(x1s[k2]), ks, xmax1)
        assert d_alt <= float(f1.D) + 2 * (d1 + d2)


# ---------------------------------------------------------------------------------------------
# powerlaw
# ---------------------------------------------------------------------------------------------


def _check_credibility(fit):
    verdict, reason = ht.fit.credibility(fit)
    assert verdict in P.CREDIBILITY and (reason == "") == (verdict == "ok")
    if not bool(fit.ok):
        assert verdict == "failed"
        return
    m, D = int(fit.num_tail), float(fit.D)
    assert (verdict == "poor-fit") == (D > ht.fit.ks_threshold(m))
    if verdict == "ok":  # ok only where D is small, on a tail longer than the smallest allowed
        assert D <= ht.fit.ks_threshold(m) and m > fit.min_tail


@pytest.mark.parametrize("ks,truncated", [(k, t) for k in P.KS_CONVENTIONS for t in (False, True)])
@_settings(25)
@given(
    x=spectra(),
    log_c=st.floats(-6.0, 6.0),
    xmax_factor=st.floats(1.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_powerlaw_scale_order_and_nonpositive_values(ks, truncated, x, log_c, xmax_factor, seed):
    rng = np.random.default_rng(seed)
    xmax = float(x.max()) * xmax_factor if truncated else None
    fit = ht.fit.powerlaw(_pad(x), ks=ks, xmax=xmax, throw=False)
    # x -> c·x: α and D unchanged, xmin -> c·xmin (the same candidate), to float64 rounding;
    # each fit is its tail's MLE and KS distance (float64 reference)
    c = 10.0**log_c
    cx = c * x
    cxmax = None if xmax is None else c * xmax
    scaled = ht.fit.powerlaw(_pad(cx), ks=ks, xmax=cxmax, throw=False)
    _check_pair(x, fit, np.float64, cx, scaled, np.float64, ks, xmax, cxmax, c)
    # zeros, -0.0, round-off negatives and large negatives anywhere, in any order: the same
    # fit, bit for bit
    y = rng.permutation(_pad(x, fill=_nonpositive(rng, L - x.size, float(x.max()))))
    _assert_same_fit(fit, ht.fit.powerlaw(y, ks=ks, xmax=xmax, throw=False))
    assert int(fit.num_data) == x.size
    if (ks, truncated) == ("two_sided", False):
        # any number of them: another length (for one option set: one more compilation)
        fill = _nonpositive(rng, L_OTHER - x.size, float(x.max()))
        other = ht.fit.powerlaw(rng.permutation(_pad(x, L_OTHER, fill)), throw=False)
        _assert_same_fit(fit, other)
    _check_credibility(fit)


@pytest.mark.parametrize("truncated", [False, True])
@_settings(20)
@given(x=spectra(), xmax_factor=st.floats(1.0, 3.0), seed=st.integers(0, 2**32 - 1))
def test_powerlaw_float32(truncated, x, xmax_factor, seed):
    # The same float32 data fit in float32 and in float64: within the two rounding bounds, or a
    # flip between candidates whose D agree to float32 rounding.
    rng = np.random.default_rng(seed)
    x32 = x.astype(np.float32)
    x64 = x32.astype(np.float64)
    xmax = float(np.float32(x32.max() * np.float32(xmax_factor))) if truncated else None
    f32 = ht.fit.powerlaw(_pad(x32), xmax=xmax, throw=False)
    f64 = ht.fit.powerlaw(_pad(x64), xmax=xmax, throw=False)
    assert f32.alpha.dtype == jnp.float32 and f64.alpha.dtype == jnp.float64
    _check_pair(x64, f64, np.float64, x64, f32, np.float32, "two_sided", xmax, xmax)
    # float32 non-positive values (round-off negatives of a float32 ESD) are ignored as well
    y = rng.permutation(_pad(x32, fill=_nonpositive(rng, L - x.size, float(x32.max()))))
    _assert_same_fit(f32, ht.fit.powerlaw(y, xmax=xmax, throw=False))
    _check_credibility(f32)


_TINY_VALUES = st.one_of(
    st.sampled_from([0.0, -0.0, -1e-9, -5e-10, 1.0, 2.0, 1e-12, 1e6]),
    st.floats(1e-12, 1e6),
)


@functools.cache
def _jitted_fit(ks):
    return jax.jit(functools.partial(ht.fit.powerlaw, ks=ks, throw=False))


@pytest.mark.parametrize("ks", P.KS_CONVENTIONS)
@_settings(40)
@given(x=st.lists(_TINY_VALUES, min_size=2, max_size=L_TINY))
@example(x=[3.0] * 7)  # constant
@example(x=[0.0, 3.0, 3.0, 3.0, -1e-9])  # constant positive part
@example(x=[1.0, 2.0] * 3)  # 2 distinct values
@example(x=[1.0, 2.0, 0.0, 0.0])  # 2 positive values
@example(x=[0.0, 1.0])  # 1 positive value: too few (jit said "constant", eager "too few")
@example(x=[0.0, -1e-9, -0.0, -5e-10])  # all non-positive
@example(x=[1e-12, 1e6, 1e6, 1e-12, 1.0])
def test_powerlaw_tiny_and_degenerate_data_give_a_status(ks, x):
    # Never a crash, never a NaN labelled ok: eagerly a ValueError that says why, under jit a
    # status; a fit that is made is a real fit of at least 3 points and 2 distinct values.
    x = np.asarray(x, np.float64)
    xp = _pad(x, L_TINY)
    pos = x[x > 0]
    expect_error = pos.size < 3 or np.all(pos == pos[0])
    jitted = _jitted_fit(ks)(jnp.asarray(xp))
    if expect_error:
        msg = "positive values" if pos.size < 3 else "constant"
        with pytest.raises(ValueError, match=msg):
            ht.fit.powerlaw(xp, ks=ks, throw=False)
        code = P.TOO_FEW_DATA if pos.size < 3 else P.CONSTANT
        assert int(jitted.status) == code and not bool(jitted.ok)
        assert np.isnan(float(jitted.alpha)) and int(jitted.num_tail) == 0
        return
    fit = ht.fit.powerlaw(xp, ks=ks, throw=False)
    _assert_same_fit(fit, jitted)
    if bool(fit.ok):
        vals = {k: float(v) for k, v in _fields(fit).items()}
        assert all(math.isfinite(vals[k]) for k in ("alpha", "xmin", "D", "sigma", "loglik"))
        assert vals["alpha"] > 1 and 0 <= vals["D"] <= 1 and vals["xmin"] in set(pos.tolist())
        tail = pos[pos >= vals["xmin"]]
        assert int(fit.num_tail) == tail.size >= 3 and np.unique(tail).size >= 2
        ra, rd, _ = _at_xmin(pos, vals["xmin"], ks)
        da, dd = _rounding_bounds(pos, vals["xmin"], None, np.float64)
        assert abs(vals["alpha"] - ra) <= da and abs(vals["D"] - rd) <= dd
    else:
        assert np.isnan(float(fit.alpha)) and int(fit.num_tail) == 0
        assert fit.message != "ok"


# ---------------------------------------------------------------------------------------------
# powerlaw_scan
# ---------------------------------------------------------------------------------------------


@_settings(25)
@given(x=spectra(max_n=L - 1), pick=st.integers(0, 2**31))
def test_scan_is_what_the_search_minimises(x, pick):
    xp = _pad(x)
    fit = ht.fit.powerlaw(xp)
    s = ht.fit.powerlaw_scan(xp)
    valid, D = np.asarray(s.valid), np.asarray(s.D)
    xmin, num_tail = np.asarray(s.xmin), np.asarray(s.num_tail)
    assert valid.shape == (L,)
    # the zeros are never candidates; a valid candidate is the first of its run of ties, with a
    # tail of >= 3 points and 2 distinct values
    assert not np.any(valid[xmin <= 0]) and np.all(np.isinf(D[~valid]))
    first = np.r_[True, xmin[1:] != xmin[:-1]]
    assert np.all(first[valid]) and np.all(num_tail[valid] >= 3)
    # the fit is the argmin of D: the scan evaluates D in other batches than the search (its
    # last bits may differ), so the fit's D is the scan's minimum to rounding, and its
    # candidate the scan's argmin or one whose scan D is that minimum to rounding
    (k,) = np.flatnonzero(first & (xmin == float(fit.xmin)))
    assert valid[k] and float(fit.alpha) == float(s.alpha[k]) and int(fit.num_tail) == num_tail[k]
    # (one evaluation of the same formula in another vectorisation: a few ulp of D <= 1)
    assert abs(float(fit.D) - D[valid].min()) <= 8 * EPS64
    assert abs(D[k] - D[valid].min()) <= 16 * EPS64
    # any valid candidate's D and α are its tail's (float64 reference)
    j = int(np.flatnonzero(valid)[pick % int(valid.sum())])
    ra, rd, rm = _at_xmin(x, xmin[j], "two_sided")
    da, dd = _rounding_bounds(x, xmin[j], None, np.float64)
    assert num_tail[j] == rm and abs(float(s.alpha[j]) - ra) <= da and abs(D[j] - rd) <= dd
    # a subset of ranks gives the same D at the same candidates
    sub = ht.fit.powerlaw_scan(xp, num_xmin=17)
    for xm, d, v in zip(np.asarray(sub.xmin), np.asarray(sub.D), np.asarray(sub.valid)):
        (i,) = np.flatnonzero(first & (xmin == xm))
        assert v == valid[i] and (d == D[i] or abs(d - D[i]) <= 8 * EPS64)


# ---------------------------------------------------------------------------------------------
# A real float32 layer with round-off negatives
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_rank_deficient_float32_layer(seed):
    # W = A @ B, A 512×200 and B 200×384 with Student-t(3) entries, in float32: rank 200, so 184
    # of the 384 eigenvalues of WᵀW/N are round-off, about half of them negative.
    rng = np.random.default_rng(seed)
    A = rng.standard_t(3, (512, 200)).astype(np.float32)
    B = rng.standard_t(3, (200, 384)).astype(np.float32)
    lam = np.asarray(ht.esd(jnp.asarray(A @ B)))
    assert lam.dtype == np.float32
    assert np.sum(lam < 0) > 20 and np.sum(np.abs(lam) <= 384 * EPS32 * lam[-1]) == 184
    fit = ht.fit.powerlaw(lam, throw=False)
    pos = lam[lam > 0]
    _assert_same_fit(fit, ht.fit.powerlaw(pos, throw=False))  # the fit of the positive part
    assert int(fit.num_data) == pos.size
    # the float64 reference at the chosen xmin
    ra, rd, rm = _at_xmin(pos.astype(np.float64), float(fit.xmin), "two_sided")
    da, dd = _rounding_bounds(pos.astype(np.float64), float(fit.xmin), None, np.float32)
    assert int(fit.num_tail) == rm and abs(float(fit.alpha) - ra) <= da
    assert abs(float(fit.D) - rd) <= dd
    verdict, _ = ht.fit.credibility(fit)
    thr = ht.fit.ks_threshold(int(fit.num_tail))
    assert (verdict == "ok") <= (float(fit.D) <= thr)  # ok only where D is small
    assert (verdict == "poor-fit") == (float(fit.D) > thr)
    # the classifier sees the rank collapse, the bulk fit sets aside all 184 null values
    res = ht.phases.classify(lam, 512 / 384, fit_powerlaw=False)
    assert res.phase == "rank-collapse" and res.num_null == 184 and res.mp.num_zero == 184
    # the metrics: the rank is 200 and α is the fit's
    assert int(ht.metrics.hard_rank(jnp.asarray(lam))) == 200
    assert float(ht.metrics.alpha(jnp.asarray(lam))) == float(fit.alpha)
