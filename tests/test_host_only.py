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


# ------------------------------------------------------------------------------- one status


def test_one_status_enumeration_across_fitters():
    S = ht.Status
    assert [int(s) for s in S] == list(range(len(S)))
    assert S.OK.ok and not S.NO_CANDIDATE.ok and S.from_label("non-finite") is S.NONFINITE
    with pytest.raises(ValueError, match="unknown status label"):
        S.from_label("fine")
    # power law: the codes are the enumeration's
    bad = ht.fit.powerlaw(jnp.array([1.0, 2.0, 3.0, 4.0]), xmin=10.0, throw=False)
    assert S(int(bad.status)) is S.XMIN_ABOVE_DATA and bad.message == S.XMIN_ABOVE_DATA.message
    # the act estimator and its per-layer table
    fit = ht.act.hill_fit(jnp.asarray([1e-9, 2e-9, 3.0]), "goodness-of-fit")
    assert S(int(fit.status)) is S.NO_CANDIDATE and fit.message == S.NO_CANDIDATE.message
    assert set(ht.act.HILL_STATUS.values()) == {"ok", "no-candidate", "non-finite"}
    # the MP fit (host): its label maps to the same enumeration
    mp = ht.fit.marchenko_pastur(ht.esd(ht.ensembles.gaussian(jax.random.key(0), (200, 100))), 2.0)
    assert mp.code is S.OK and mp.ok and mp.message == "ok"
