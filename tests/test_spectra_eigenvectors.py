"""Top eigenvectors of WᵀW/N: against numpy's eigh and the SVD, batching, jit, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht
from htrmt.spectra import Eigenpairs, top_eigenvectors


@pytest.mark.parametrize("dtype, tol", [(jnp.float64, 1e-10), (jnp.float32, 2e-3)])
@pytest.mark.parametrize("shape", [(50, 20), (20, 50)])
def test_matches_numpy_svd(shape, dtype, tol, key):
    W = jax.random.normal(key, shape, dtype)
    top = top_eigenvectors(W, 3)
    assert isinstance(top, Eigenpairs)
    n, m = max(shape), min(shape)
    assert top.eigenvalues.shape == (3,) and top.right.shape == (m, 3) and top.left.shape == (n, 3)
    assert top.eigenvalues.dtype == dtype and top.right.dtype == dtype and top.left.dtype == dtype
    Wo = np.asarray(W, np.float64)
    Wo = Wo.T if shape[0] < shape[1] else Wo
    U, sv, Vt = np.linalg.svd(Wo, full_matrices=False)
    np.testing.assert_allclose(np.asarray(top.eigenvalues), sv[:3] ** 2 / n, rtol=tol)
    # The same eigenvalues as the top of esd, reversed.
    np.testing.assert_allclose(
        np.asarray(top.eigenvalues), np.asarray(ht.esd(W))[::-1][:3], rtol=tol
    )
    # Vectors agree up to sign; the sign rule makes the largest-magnitude entry positive.
    r, l_ = np.asarray(top.right, np.float64), np.asarray(top.left, np.float64)
    for j in range(3):
        assert abs(abs(r[:, j] @ Vt[j]) - 1) < tol
        assert abs(abs(l_[:, j] @ U[:, j]) - 1) < tol
        assert r[np.argmax(np.abs(r[:, j])), j] > 0
    # A consistent singular pair: W v = √(Nλ) u.
    lhs = Wo @ r
    np.testing.assert_allclose(lhs, l_ * np.sqrt(n * np.asarray(top.eigenvalues)), atol=50 * tol)


def test_batch_equals_loop_and_normalization(key):
    W = jax.random.normal(key, (3, 40, 10))
    batched = top_eigenvectors(W, 2)
    Wn = np.asarray(W)
    for i in range(3):  # one matrix at a time, against numpy
        lam, vec = np.linalg.eigh(Wn[i].T @ Wn[i] / 40)
        np.testing.assert_allclose(np.asarray(batched.eigenvalues[i]), lam[::-1][:2], rtol=1e-12)
        r = np.asarray(batched.right[i])
        np.testing.assert_allclose(np.abs(np.sum(r * vec[:, ::-1][:, :2], axis=0)), 1.0, rtol=1e-10)
        left = Wn[i] @ r / np.linalg.norm(Wn[i] @ r, axis=0)
        np.testing.assert_allclose(np.asarray(batched.left[i]), left, atol=1e-12)
    raw = top_eigenvectors(W, 2, normalization="none")
    np.testing.assert_allclose(np.asarray(raw.eigenvalues), 40 * np.asarray(batched.eigenvalues))
    np.testing.assert_allclose(np.asarray(raw.right), np.asarray(batched.right), atol=1e-12)


def test_vmap_and_jit_equal_eager(key):
    W = jax.random.normal(key, (3, 40, 10))
    eager = top_eigenvectors(W, 2)
    mapped = jax.vmap(lambda w: top_eigenvectors(w, 2))(W)
    jitted = jax.jit(lambda w: top_eigenvectors(w, 2))(W)
    for got in (mapped, jitted):
        for field in ("eigenvalues", "right", "left"):
            np.testing.assert_allclose(
                np.asarray(getattr(got, field)), np.asarray(getattr(eager, field)), atol=1e-12
            )


def test_planted_direction_recovered(key):
    # A strong low-rank signal W = G + √N·S·u vᵀ (S = 5): the top pair lines up with (u, v).
    x = np.asarray(jax.random.normal(key, (300 * 30 + 330,)))
    g, u, v = x[:9000].reshape(300, 30), x[9000:9300], x[9300:]
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)
    top = top_eigenvectors(g + np.sqrt(300.0) * 5.0 * np.outer(u, v))
    assert float(np.asarray(top.right[:, 0]) @ v) ** 2 > 0.95
    assert float(np.asarray(top.left[:, 0]) @ u) ** 2 > 0.9


def test_bad_input(key):
    W = jax.random.normal(key, (20, 10))
    with pytest.raises(ValueError, match="k must be <= M"):
        top_eigenvectors(W, 11)
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_eigenvectors(W, 0)
    with pytest.raises(TypeError, match="k must be an int"):
        top_eigenvectors(W, 2.0)
    with pytest.raises(ValueError, match="normalization"):
        top_eigenvectors(W, normalization="M")
    with pytest.raises(ValueError, match="NaN or Inf"):
        top_eigenvectors(W.at[3, 4].set(jnp.nan))
    with pytest.raises(TypeError, match="integer"):
        top_eigenvectors(np.ones((4, 3), np.int32))
    with pytest.raises(ValueError, match="rank >= 2"):
        top_eigenvectors(jnp.ones(5))
    f = jax.jit(lambda w: top_eigenvectors(w).eigenvalues)
    with pytest.raises(Exception, match="NaN or Inf"):
        jax.block_until_ready(f(W.at[0, 0].set(jnp.inf)))
