"""Largest-eigenvalue samplers: tridiagonal vs dense, Tracy–Widom limits, truncation, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

import htrmt as ht
from htrmt.edge import _tridiagonal as td


def _tw_law():
    """htrmt.laws.tracy_widom, or skip while it is missing."""
    tw = getattr(ht.laws, "tracy_widom", None)
    if tw is None:
        pytest.skip("htrmt.laws.tracy_widom is not available")
    return tw


def _explicit(a, b2, j):
    a = np.asarray(a[:, j], np.float64)
    b = np.sqrt(np.asarray(b2[1:, j], np.float64))
    return np.diag(a) + np.diag(b, 1) + np.diag(b, -1)


@pytest.mark.parametrize("dtype", [pytest.param(jnp.float32, marks=pytest.mark.slow), jnp.float64])
@pytest.mark.parametrize("solver", [td.tridiagonal_largest, td.tridiagonal_largest_laguerre])
@pytest.mark.parametrize("model", ["laguerre", "hermite"])
def test_tridiagonal_solver_matches_eigvalsh(key, dtype, solver, model):
    num = 50
    if model == "laguerre":
        a, b2 = td.laguerre_tridiagonal(key, num, 120, 60, 60, 1.0, dtype)
        a, b2 = a / 120, b2 / 120**2
    else:
        a, b2 = td.hermite_tridiagonal(key, num, 90, 60, 2.0, dtype)
    ref = np.array([np.linalg.eigvalsh(_explicit(a, b2, j))[-1] for j in range(num)])
    got = np.asarray(jax.jit(solver)(a, b2))
    assert got.dtype == dtype
    eps = np.finfo(np.dtype(dtype)).eps
    # backward-stable Sturm/LDLᵀ recurrences: a few ulps of the matrix norm
    np.testing.assert_allclose(got, ref, rtol=0, atol=40 * eps * np.max(np.abs(ref)))


def test_gamma_sampler_matches_scipy(key):
    # KS at 2·10^4 draws; false-failure rate 1% per shape parameter under a correct sampler
    alphas = (0.3, 1.0, 7.5, 1500.0)
    x = np.asarray(td._gamma_mt(key, jnp.array(alphas)[:, None], (4, 20000), jnp.float64))
    for i, alpha in enumerate(alphas):
        assert st.kstest(x[i], st.gamma(alpha).cdf).pvalue > 0.01


@pytest.mark.parametrize("beta", [pytest.param(1, marks=pytest.mark.slow), 2])
def test_dense_and_tridiagonal_agree_in_distribution(getkey, beta):
    # Two-sample KS between 20000 tridiagonal and 4000 dense samples at N=20, M=10.
    # False-failure rate: 0.1% per comparison.
    x = ht.edge.largest_eigenvalues(getkey(), 20000, 20, 10, beta=beta)
    y = np.asarray(ht.edge.largest_eigenvalues(getkey(), 4000, 20, 10, beta=beta, method="dense"))
    assert st.ks_2samp(np.asarray(x), y).pvalue > 1e-3
    # the comparison has power: the other β is rejected
    x = ht.edge.largest_eigenvalues(getkey(), 20000, 20, 10, beta=3 - beta)
    assert st.ks_2samp(np.asarray(x), y).pvalue < 1e-6


def test_dense_and_tridiagonal_agree_when_truncated(getkey):
    # N=60, M=50: the tridiagonal model keeps its top 47 of 50 rows. False-failure rate 0.1%.
    x = ht.edge.largest_eigenvalues(getkey(), 20000, 60, 50)
    y = ht.edge.largest_eigenvalues(getkey(), 1500, 60, 50, method="dense")
    assert st.ks_2samp(np.asarray(x), np.asarray(y)).pvalue > 1e-3


@pytest.mark.slow
@pytest.mark.parametrize("beta", [1, 2])
def test_wigner_dense_and_tridiagonal_agree(getkey, beta):
    # N=100: the tridiagonal model keeps its top 57 rows. False-failure rate 0.1%.
    x = ht.edge.wigner_largest_eigenvalues(getkey(), 20000, 100, beta=beta)
    y = ht.edge.wigner_largest_eigenvalues(getkey(), 2000, 100, beta=beta, method="dense")
    assert st.ks_2samp(np.asarray(x), np.asarray(y)).pvalue > 1e-3


def test_wigner_tridiagonal_agrees_with_dense_goe(getkey):
    # N=60 (top 50 rows kept), 1500 dense GOE samples. False-failure rate 0.1%.
    x = ht.edge.wigner_largest_eigenvalues(getkey(), 20000, 60)
    y = ht.edge.wigner_largest_eigenvalues(getkey(), 1500, 60, method="dense")
    assert st.ks_2samp(np.asarray(x), np.asarray(y)).pvalue > 1e-3


def test_wigner_dense_matches_ensembles_wigner(key):
    # the dense GOE sampler has the normalisation of htrmt.ensembles.wigner (same key, same draws)
    keys = jax.random.split(key, 3)
    got = ht.edge.wigner_largest_eigenvalues(key, 3, 30, method="dense", sigma=1.5)
    H = jax.vmap(lambda k: ht.ensembles.wigner(k, (30, 30), sigma=1.5))(keys)
    ref = np.linalg.eigvalsh(np.asarray(H))[:, -1]
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12)


def test_dense_matches_esd_of_gaussian(key):
    keys = jax.random.split(key, 4)
    got = ht.edge.largest_eigenvalues(key, 4, 30, 12, method="dense", sigma=0.7)
    W = jax.vmap(lambda k: 0.7 * jax.random.normal(k, (30, 12)))(keys)
    ref = np.asarray(ht.esd(W))[:, -1]
    np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-12)


def test_tw1_after_ma_scaling_at_M_2000(key):
    tw = _tw_law()
    # 10^4 tridiagonal samples at N=4000, M=2000; KS against TW1. False-failure rate 1%.
    N, M = 4000, 2000
    lam = ht.edge.largest_eigenvalues(key, 10_000, N, M, beta=1)
    z = np.asarray(ht.edge.tw_standardize(lam, N, M, beta=1, kind="ma"))
    assert st.kstest(z, lambda s: np.asarray(tw.cdf(s, beta=1))).pvalue > 0.01


@pytest.mark.slow
def test_tw_limits_other_ensembles_and_error_shrinks(getkey):
    tw = _tw_law()
    n = 10_000  # KS p > 0.01: false-failure rate 1% per check
    lam = ht.edge.largest_eigenvalues(getkey(), n, 4000, 2000, beta=2)
    z = np.asarray(ht.edge.tw_standardize(lam, 4000, 2000, beta=2, kind="el_karoui"))
    assert st.kstest(z, lambda s: np.asarray(tw.cdf(s, beta=2))).pvalue > 0.01
    lam = ht.edge.wigner_largest_eigenvalues(getkey(), n, 4000, beta=1)
    c, s = ht.edge.wigner_tw_scaling(4000)
    assert (
        st.kstest((np.asarray(lam) - c) / s, lambda s: np.asarray(tw.cdf(s, beta=1))).pvalue > 0.01
    )
    # finite-size error: KS distance to TW1 at M=10 is well above that at M=2000
    # (sampling noise of D at n=10^4 is ~0.009; measured D ≈ 0.04 vs 0.01)
    d = {}
    for M in (10, 2000):
        lam = ht.edge.largest_eigenvalues(getkey(), n, 2 * M, M)
        z = np.asarray(ht.edge.tw_standardize(lam, 2 * M, M, kind="ma"))
        d[M] = st.kstest(z, lambda s: np.asarray(tw.cdf(s, beta=1))).statistic
    assert d[2000] < d[10] - 0.01


@pytest.mark.parametrize("model", [pytest.param("laguerre", marks=pytest.mark.slow), "hermite"])
def test_truncation_is_harmless(key, model):
    # Same random draws: the full model vs its top-left block of the default size.
    M, N, num = 600, 1200, 100
    k = td.default_truncation(M)
    if model == "laguerre":
        a, b2 = td.laguerre_tridiagonal(key, num, N, M, M, 1.0, jnp.float64)
        a, b2 = a / N, b2 / N**2
        scale = ht.edge.tw_scaling(N, M).scale
    else:
        a, b2 = td.hermite_tridiagonal(key, num, M, M, 1.0, jnp.float64)
        scale = ht.edge.wigner_tw_scaling(M).scale
    solve = jax.jit(td.tridiagonal_largest_laguerre)
    full = np.asarray(solve(a, b2))
    trunc = np.asarray(solve(a[:k], b2[:k]))
    diff = (full - trunc) / scale
    assert diff.min() > -1e-9  # interlacing: the block's λ_max is a lower bound (up to rounding)
    assert diff.max() < 1e-6  # in TW units: invisible in any statistic
    short = np.asarray(solve(a[: k // 4], b2[: k // 4]))
    assert ((full - short) / scale).max() > 1e-3  # a much shorter block is visibly wrong


def test_jit_vmap_and_dtypes(key):
    f = lambda k: ht.edge.largest_eigenvalues(k, 64, 300, 100, beta=1.5)
    eager = f(key)
    np.testing.assert_array_equal(np.asarray(jax.jit(f)(key)), np.asarray(eager))
    keys = jax.random.split(key, 3)
    batched = jax.vmap(f)(keys)
    loop = np.stack([np.asarray(f(k)) for k in keys])
    np.testing.assert_allclose(np.asarray(batched), loop, rtol=1e-13)
    # the bisection solver gives the same samples as the Laguerre solver
    a = ht.edge.largest_eigenvalues(key, 64, 300, 100, beta=1.5, solver="bisection")
    np.testing.assert_allclose(np.asarray(a), np.asarray(eager), rtol=1e-13)


@pytest.mark.parametrize("dtype", [jnp.float32, pytest.param(jnp.float64, marks=pytest.mark.slow)])
def test_dtype_kept(key, dtype):
    for method in ("tridiagonal", "dense"):
        lam = ht.edge.largest_eigenvalues(key, 8, 12, 6, method=method, dtype=dtype, beta=2)
        assert lam.dtype == dtype and lam.shape == (8,)
        assert np.all(np.isfinite(np.asarray(lam)))
    assert ht.edge.wigner_largest_eigenvalues(key, 8, 12, dtype=dtype).dtype == dtype


def test_sigma_scales_exactly(key):
    a = ht.edge.largest_eigenvalues(key, 16, 50, 20, sigma=3.0)
    b = ht.edge.largest_eigenvalues(key, 16, 50, 20)
    np.testing.assert_allclose(np.asarray(a), 9.0 * np.asarray(b), rtol=1e-14)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(num=0), ValueError, "num"),
        (dict(num=-3), ValueError, "num"),
        (dict(num=10.0), TypeError, "num"),
        (dict(N=10, M=20), ValueError, "N must be >= M"),
        (dict(N=100.0), TypeError, "N"),
        (dict(M=np.float64(5)), TypeError, "M"),
        (dict(beta=0), ValueError, "beta"),
        (dict(beta=-1.0), ValueError, "beta"),
        (dict(beta=float("nan")), TypeError, "beta"),
        (dict(beta=4, method="dense"), ValueError, "beta must be 1"),
        (dict(method="lanczos"), ValueError, "method"),
        (dict(sigma=0.0), ValueError, "sigma"),
        (dict(solver="newton"), ValueError, "solver"),
        (dict(truncation=0), ValueError, "truncation"),
        (dict(dtype=jnp.int32), TypeError, "dtype"),
    ],
)
def test_bad_input(key, kwargs, exc, match):
    args = dict(num=10, N=40, M=20)
    args.update(kwargs)
    num, N, M = args.pop("num"), args.pop("N"), args.pop("M")
    with pytest.raises(exc, match=match):
        ht.edge.largest_eigenvalues(key, num, N, M, **args)


def test_bad_input_wigner_and_key(key):
    with pytest.raises(ValueError, match="N"):
        ht.edge.wigner_largest_eigenvalues(key, 5, 1)
    with pytest.raises(TypeError, match="N"):
        ht.edge.wigner_largest_eigenvalues(key, 5, 10.5)
    with pytest.raises(ValueError, match="beta"):
        ht.edge.wigner_largest_eigenvalues(key, 5, 10, beta=4, method="dense")
    with pytest.raises(TypeError, match="key"):
        ht.edge.largest_eigenvalues(0, 5, 10, 5)
