"""``throw=`` on every fitter: the same flag, the same exception, the same status vocabulary.

Eagerly a failed fit raises ``ValueError("<what> failed: <message>")`` with ``throw=True`` and
returns a result whose ``.ok`` is False with ``throw=False``; under ``jit`` the JAX fitters raise
at run time through ``equinox.error_if``. Deterministic inputs (no statistical tolerance).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht

PARETO = (1 - jax.random.uniform(jax.random.key(0), (400,))) ** (-1 / 1.5)


def test_powerlaw_throw_eager_and_traced():
    with pytest.raises(ValueError, match="power-law fit failed: xmin is above"):
        ht.fit.powerlaw(PARETO, xmin=1e9)
    fit = ht.fit.powerlaw(PARETO, xmin=1e9, throw=False)
    assert not bool(fit.ok) and int(fit.status) == ht.Status.XMIN_ABOVE_DATA
    f = jax.jit(lambda x: ht.fit.powerlaw(x, xmin=1e9).alpha)
    with pytest.raises(Exception, match="power-law fit failed"):
        jax.block_until_ready(f(PARETO))


def test_fit_tail_throw():
    ok = ht.fit.fit_tail(PARETO, "exponential", xmin=1.0, throw=True)
    assert bool(ok.ok)
    bad = ht.fit.fit_tail(PARETO, "exponential", xmin=1e9)  # no point in the tail
    assert not bool(bad.ok) and int(bad.status) == ht.Status.TOO_FEW_TAIL
    with pytest.raises(ValueError, match="exponential tail fit failed: too few tail points"):
        ht.fit.fit_tail(PARETO, "exponential", xmin=1e9, throw=True)
    f = jax.jit(lambda x: ht.fit.fit_tail(x, "exponential", xmin=1e9, throw=True).params)
    with pytest.raises(Exception, match="exponential tail fit failed"):
        jax.block_until_ready(f(PARETO))
    # throw=False under jit: a result, no error
    g = jax.jit(lambda x: ht.fit.fit_tail(x, "exponential", xmin=1e9))
    assert int(g(PARETO).status) == ht.Status.TOO_FEW_TAIL


def test_compare_status_and_throw():
    lr = ht.fit.compare(PARETO, "power_law", "exponential", throw=True)
    assert bool(lr.ok) and lr.message == "ok" and lr.preferred == "power_law"
    with pytest.raises(ValueError, match="tail fit failed"):
        ht.fit.compare(PARETO, "power_law", "exponential", xmin=1e9, throw=True)
    # the status is a pytree leaf: jit and vmap of the comparison work
    f = jax.jit(lambda x: ht.fit.compare(x, "power_law", "exponential", xmin=1.0))
    assert int(f(PARETO).status) == ht.Status.OK
    batch = jnp.stack([PARETO, PARETO * 2.0])
    v = jax.vmap(lambda x: ht.fit.compare(x, "power_law", "exponential", xmin=1.0))(batch)
    assert v.status.shape == (2,)


def test_gof_throw():
    kw = dict(num_bootstrap=4, alpha_max=1.01)  # no candidate xmin has α̂ < 1.01
    with pytest.raises(ValueError, match="power-law fit of evals failed: no candidate"):
        ht.fit.powerlaw_gof(jax.random.key(1), PARETO, **kw)
    g = ht.fit.powerlaw_gof(jax.random.key(1), PARETO, throw=False, **kw)
    assert not bool(g.ok) and int(g.status) == ht.Status.NO_CANDIDATE
    assert np.isnan(float(g.p_value))


def test_marchenko_pastur_throw():
    lam = np.asarray(ht.esd(ht.ensembles.gaussian(jax.random.key(2), (400, 200))))
    assert ht.fit.marchenko_pastur(lam, 2.0, throw=True).ok
    deficient = np.concatenate([np.zeros(60), lam])  # 23% exact zeros
    fit = ht.fit.marchenko_pastur(deficient, 400 / 260)
    assert fit.status == "rank-deficient" and fit.code == ht.Status.RANK_DEFICIENT
    with pytest.raises(ValueError, match="Marchenko–Pastur fit failed: more than a tenth"):
        ht.fit.marchenko_pastur(deficient, 400 / 260, throw=True)


def test_classify_status_and_throw():
    lam = np.asarray(ht.esd(ht.ensembles.gaussian(jax.random.key(3), (400, 200))))
    res = ht.phases.classify(lam, 2.0, throw=True)
    assert res.ok and res.status is ht.Status.OK and res.message == "ok"
    # rank collapse is a verdict with its evidence, not a failure
    collapsed = np.concatenate([np.zeros(60), lam])
    assert ht.phases.classify(collapsed, 400 / 260, throw=True).phase == "rank-collapse"
    # the result is a pytree whose verdict and status are static
    leaves = jax.tree_util.tree_leaves(res)
    assert all(not isinstance(v, str) for v in leaves)
    assert eqx.tree_equal(res, res)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ht.fit.powerlaw(PARETO, throw="yes"),
        lambda: ht.fit.fit_tail(PARETO, "power_law", xmin=1.0, throw=1),
        lambda: ht.fit.compare(PARETO, "power_law", "lognormal", throw=None),
        lambda: ht.fit.powerlaw_gof(jax.random.key(0), PARETO, num_bootstrap=2, throw="no"),
        lambda: ht.fit.marchenko_pastur(np.linspace(0.1, 3, 50), 2.0, throw=0),
        lambda: ht.phases.classify(np.linspace(0.1, 3, 50), 2.0, throw="false"),
    ],
)
def test_throw_must_be_a_bool(call):
    with pytest.raises(TypeError, match="throw must be True or False"):
        call()
