"""Host-only functions say so: under jit/vmap/grad they raise a TypeError naming themselves."""

import jax
import jax.numpy as jnp
import pytest

import htrmt as ht

LAM = jnp.linspace(0.05, 3.0, 120)

HOST_ONLY = [
    ("htrmt.fit.marchenko_pastur", lambda x: ht.fit.marchenko_pastur(x, 2.0).sigma),
    ("htrmt.phases.classify", lambda x: ht.phases.classify(x, 2.0).phase),
    ("htrmt.metrics.summary", lambda x: ht.metrics.summary(x, 2.0).alpha),
    ("htrmt.spectra.histogram", lambda x: ht.spectra.histogram(x).density),
]


@pytest.mark.parametrize("name, f", HOST_ONLY, ids=[h[0] for h in HOST_ONLY])
@pytest.mark.parametrize("transform", ["jit", "vmap"])
def test_host_only_functions_raise_a_clear_type_error(name, f, transform):
    g = jax.jit(f) if transform == "jit" else jax.vmap(f)
    x = LAM if transform == "jit" else jnp.stack([LAM, 2 * LAM])
    with pytest.raises(TypeError, match=rf"{name} runs on the host.*jax\.jit"):
        g(x)


def test_host_only_functions_still_work_eagerly():
    for _, f in HOST_ONLY:
        f(LAM)


def test_the_jittable_metrics_are_the_hint():
    with pytest.raises(TypeError, match="htrmt.metrics"):
        jax.jit(lambda x: ht.metrics.summary(x, 2.0).alpha)(LAM)
    v = jax.jit(lambda x: ht.metrics.mp_softrank(x, lambda_plus=2.0))(LAM)
    assert float(v) == pytest.approx(2.0 / 3.0)


# ------------------------------------------------------------------------ results are pytrees


def _sym(n=24):
    A = jax.random.normal(jax.random.key(5), (n, n))
    return (A + A.T) / 2


def test_hessian_results_work_under_jit_vmap_and_tree_map():
    A, key = _sym(), jax.random.key(0)
    T = jax.jit(lambda k: ht.hessian.lanczos(k, A, 8))(key)
    assert isinstance(T, ht.hessian.Tridiagonal)
    eager = ht.hessian.lanczos(key, A, 8)
    assert jnp.allclose(T.alpha, eager.alpha, rtol=1e-12) and jnp.allclose(T.beta, eager.beta)
    Tv = jax.vmap(lambda k: ht.hessian.lanczos(k, A, 8))(jax.random.split(key, 3))
    assert Tv.alpha.shape == (3, 8) and Tv.matrix().shape == (3, 8, 8)
    assert jax.tree_util.tree_map(jnp.shape, T) == ht.hessian.Tridiagonal((8,), (8,))
    q = jax.jit(lambda k: ht.hessian.slq(k, A, num_probes=2, num_steps=8))(key)
    assert q.nodes.shape == (2, 8) and q.num_probes == 2
    top = jax.jit(lambda k: ht.hessian.top_eigenvalues(k, A, 2, num_steps=24))(key)
    assert top.num_steps == 24
    exact = jnp.sort(jnp.linalg.eigvalsh(A))[::-1][:2]
    assert jnp.allclose(top.eigenvalues, exact, rtol=1e-8)


def test_top_eigenvalues_under_jit_fails_loudly_when_not_converged():
    A = _sym(40)
    with pytest.raises(Exception, match="too few Lanczos steps"):
        jax.jit(lambda k: ht.hessian.top_eigenvalues(k, A, 3, num_steps=4))(
            jax.random.key(0)
        ).eigenvalues.block_until_ready()
