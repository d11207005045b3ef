"""ESD, singular values, histograms, ECDF, KS distances."""

import math
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht


@pytest.mark.parametrize("dtype, tol", [(jnp.float32, 2e-5), (jnp.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(60, 30), (30, 60), (50, 50)])
def test_esd_matches_numpy(shape, dtype, tol, key):
    W = ht.ensembles.gaussian(key, shape, dtype=dtype)
    lam = ht.esd(W)
    Wn = np.asarray(W, dtype=np.float64)
    if shape[0] < shape[1]:
        Wn = Wn.T
    ref = np.linalg.eigvalsh(Wn.T @ Wn / Wn.shape[0])
    assert lam.dtype == dtype and lam.shape == (min(shape),)
    assert np.all(np.diff(np.asarray(lam)) >= 0)
    np.testing.assert_allclose(lam, ref, rtol=tol, atol=tol * ref.max())
    lam_none = ht.esd(W, normalization="none")
    np.testing.assert_allclose(
        lam_none, ref * Wn.shape[0], rtol=tol, atol=tol * ref.max() * Wn.shape[0]
    )


def test_esd_batch_vmap_jit(key):
    W = ht.ensembles.gaussian(key, (2, 3, 40, 20))
    lam = ht.esd(W)
    assert lam.shape == (2, 3, 20)
    loop = np.stack([[np.asarray(ht.esd(W[i, j])) for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(lam, loop, rtol=1e-12, atol=1e-12)
    vm = jax.vmap(jax.vmap(ht.esd))(W)
    np.testing.assert_allclose(vm, loop, rtol=1e-12, atol=1e-12)
    jt = jax.jit(ht.esd)(W)
    np.testing.assert_allclose(jt, loop, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_esd_methods_agree(dtype, key):
    W = ht.ensembles.gaussian(key, (3, 50, 30), dtype=dtype)
    a = ht.esd(W, method="lapack")
    b = ht.esd(W, method="xla")
    c = jax.jit(lambda w: ht.esd(w, method="lapack"))(W)
    d = jax.vmap(lambda w: ht.esd(w, method="lapack"))(W)
    tol = 1e-4 if dtype == jnp.float32 else 1e-12
    for x in (b, c, d):
        assert x.dtype == dtype
        np.testing.assert_allclose(a, x, rtol=tol, atol=tol)
    # Both paths are differentiable (LAPACK: a custom_jvp): d(sum λ)/dW = 2W/N.
    for method in ("xla", "lapack"):
        g = jax.grad(lambda w, m=method: ht.esd(w, method=m).sum())(W[0])
        np.testing.assert_allclose(
            g, 2 * W[0] / 50, rtol=1e-10, atol=1e-5 if dtype == jnp.float32 else 1e-12
        )
    with pytest.raises(ValueError, match="method"):
        ht.esd(W, method="svd")


def test_singular_values(key):
    W = ht.ensembles.gaussian(key, (50, 20))
    sv = ht.spectra.singular_values(W)
    ref = np.sort(np.linalg.svd(np.asarray(W), compute_uv=False)) / math.sqrt(50)
    np.testing.assert_allclose(sv, ref, rtol=1e-10)
    np.testing.assert_allclose(sv**2, ht.esd(W), rtol=1e-12)


@pytest.mark.slow
def test_esd_ks_to_mp_shrinks_with_n(key):
    # Finite-N ESD against the MP CDF: the KS distance must fall as N doubles (rigidity gives
    # roughly 1/N). Averaged over 4 matrices per size to smooth fluctuations.
    ds = []
    for i, m in enumerate((100, 200, 400, 800)):
        keys = jax.random.split(jax.random.fold_in(key, i), 4)
        lam = jax.vmap(lambda k: ht.esd(ht.ensembles.gaussian(k, (2 * m, m))))(keys)
        d = np.mean(
            [
                float(ht.spectra.ks_distance(l, lambda x: ht.laws.marchenko_pastur.cdf(x, 2.0)))
                for l in lam
            ]
        )
        ds.append(d)
    assert all(b < a for a, b in zip(ds, ds[1:])), ds
    assert ds[-1] < 0.5 * ds[0]
    assert ds[-1] < 0.01


def test_esd_heavy_tailed_float32_overflow_is_reported(key):
    W = ht.ensembles.pareto(key, (200, 100), mu=0.15, dtype=jnp.float32)
    with pytest.raises(ValueError, match="overflow|NaN or Inf"):
        ht.esd(W)


@pytest.mark.parametrize(
    "W, exc, match",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0], [1, 1]]), ValueError, "NaN or Inf"),
        (np.array([[1.0, np.inf], [0.0, 1.0], [1, 1]]), ValueError, "NaN or Inf"),
        (np.ones((3,)), ValueError, "rank >= 2"),
        (np.ones((0, 3)), ValueError, "empty"),
        (np.ones((5, 1)), ValueError, "at least 2 rows"),
        (np.ones((3, 3), dtype=np.complex128), TypeError, "complex"),
        (np.ones((3, 3), dtype=np.int64), TypeError, "integer"),
        (np.ones((3, 3), dtype=bool), TypeError, "dtype"),
    ],
)
def test_esd_bad_input(W, exc, match):
    with pytest.raises(exc, match=match):
        ht.esd(W)


def test_esd_bad_normalization(key):
    with pytest.raises(ValueError, match="normalization"):
        ht.esd(ht.ensembles.gaussian(key, (4, 3)), normalization="M")


def test_esd_nan_under_jit_raises():
    W = jnp.array([[1.0, jnp.nan], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(Exception, match="NaN or Inf"):
        jax.block_until_ready(jax.jit(ht.esd)(W))


def test_histogram_linear_and_log(key):
    lam = ht.esd(ht.ensembles.pareto(key, (800, 400), mu=1.5))
    h = ht.spectra.histogram(lam, bins=40)
    assert h.counts.sum() == 400 and h.num_dropped == 0
    np.testing.assert_allclose((h.density * np.diff(h.edges)).sum(), 1.0)
    hl = ht.spectra.histogram(lam, bins=30, scale="log")
    assert np.allclose(np.diff(np.log(hl.edges)), np.diff(np.log(hl.edges))[0])
    np.testing.assert_allclose((hl.density * np.diff(hl.edges)).sum(), 1.0)
    with pytest.raises(ValueError, match="scale"):
        ht.spectra.histogram(lam, scale="semilog")
    with pytest.raises(ValueError, match="positive"):
        ht.spectra.histogram(-np.ones(4), scale="log")


def test_ecdf_and_ks_statistic():
    x, f = ht.spectra.ecdf(np.array([3.0, 1.0, 2.0]))
    np.testing.assert_array_equal(x, [1, 2, 3])
    np.testing.assert_allclose(f, [1 / 3, 2 / 3, 1])
    # KS statistic against scipy on the same data.
    import scipy.stats as st

    rng = np.random.default_rng(1)
    s = np.sort(rng.normal(size=300))
    d = ht.spectra.ks_statistic(jnp.asarray(s), jnp.asarray(st.norm.cdf(s)))
    np.testing.assert_allclose(d, st.kstest(s, "norm").statistic, rtol=1e-12)


def test_grad_of_esd_on_the_lapack_path_matches_finite_differences(key):
    """d λ_i / dW of the host LAPACK path (custom_jvp) against central differences (tall, "N")
    and the XLA path (wide, "none"), and under vmap."""
    W = ht.ensembles.gaussian(key, (2, 9, 5))
    wts = jnp.arange(1.0, 6.0)

    def f(w, method="lapack", normalization="N"):
        return jnp.sum(jnp.log(ht.esd(w, method=method, normalization=normalization)) * wts)

    g = jax.grad(f)(W[0])
    d = jax.random.normal(jax.random.key(1), W[0].shape)
    h = 1e-6
    fd = (f(W[0] + h * d) - f(W[0] - h * d)) / (2 * h)
    assert float(jnp.vdot(g, d)) == pytest.approx(float(fd), rel=1e-7, abs=1e-9)
    wide = W[1].T
    np.testing.assert_allclose(
        jax.grad(f)(wide, "lapack", "none"),
        jax.grad(f)(wide, "xla", "none"),
        rtol=1e-10,
        atol=1e-12,
    )
    gv = jax.vmap(jax.grad(f))(W)
    np.testing.assert_allclose(gv[0], g, rtol=1e-12, atol=1e-14)


_ONE_CORE_SCRIPT = """
import os, sys
os.sched_setaffinity(0, {int(sys.argv[1])})  # before jax starts its thread pools
import jax
jax.config.update("jax_enable_x64", True)
import htrmt as ht
W = ht.ensembles.gaussian(jax.random.key(0), (3000, 2000))
a = jax.jit(ht.esd)(W)
keys = jax.random.split(jax.random.key(1), 16)
b = jax.vmap(lambda k: ht.esd(ht.ensembles.gaussian(k, (1200, 600)))[-1])(keys)
print(float(a[-1]), float(b.mean()))
"""


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs os.sched_setaffinity")
def test_traced_esd_does_not_hang_on_one_core():
    # jax.jit(ht.esd) of a 48 MB matrix, and an eager vmap, on a process limited to one core:
    # through the host callback both deadlocked XLA's one-thread CPU pool (jaxlib 0.10).
    import subprocess

    cpu = min(os.sched_getaffinity(0))
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run(
        [sys.executable, "-c", _ONE_CORE_SCRIPT, str(cpu)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    top, mean = map(float, proc.stdout.split())
    assert top == pytest.approx((1 + (2 / 3) ** 0.5) ** 2, rel=0.02)
    assert mean == pytest.approx((1 + 0.5**0.5) ** 2, rel=0.03)
