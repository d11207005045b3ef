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
