"""Far tails of the low-precision samplers: no cut-off, no lumping of the largest values.

float32 ``jax.random.exponential`` tops out at log 2^23 = 15.9 and its largest values are
log(2^23/k): the largest entry of a float32 Pareto matrix with a million entries was wrong.
Rényi's representation gives an exact test of the top of an exponential sample: with
``E_(1) > E_(2) > ...`` the largest of n draws, the spacings ``i·(E_(i) − E_(i+1))`` are i.i.d.
Exp(1). Each KS test below uses the critical value at false-failure rate 1e-3.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

import htrmt as ht
from htrmt import _random

_N = 2**22  # draws per test: the top 200 then lie where float32 jax.random lumped its values
_TOP = 200


def _crit(n, m=None):
    # one-sample (m None) or two-sample KS critical value at 1e-3
    eff = n if m is None else n * m / (n + m)
    return math.sqrt(-math.log(5e-4) / (2 * eff))


def _renyi_spacings(e):
    top = np.sort(np.asarray(e, np.float64))[::-1][: _TOP + 1]
    return np.arange(1, _TOP + 1) * (top[:-1] - top[1:])


def test_float32_exponential_top_follows_renyi():
    e = _random.exponential(jax.random.key(0), (_N,), jnp.float32)
    assert e.dtype == jnp.float32 and bool(jnp.all(e > 0))
    sp = _renyi_spacings(e)
    assert np.all(sp > 0)  # no ties among the largest values
    assert scipy.stats.kstest(sp, "expon").statistic < _crit(_TOP)


def test_float32_exponential_small_values_resolved():
    # the bottom of the sample is the other tail (E ≈ u): its order statistics are uniform
    # spacings near 0, not multiples of 2^-23
    e = np.sort(np.asarray(_random.exponential(jax.random.key(1), (_N,), jnp.float32), float))
    low = e[:_TOP] * _N  # ≈ the first _TOP points of a unit-rate Poisson process
    gaps = np.diff(np.concatenate([[0.0], low]))
    assert scipy.stats.kstest(gaps, "expon").statistic < _crit(_TOP)


@pytest.mark.parametrize("convention", ["symmetric", "lomax"])
def test_float32_pareto_largest_entries(convention):
    mu = 2.5
    W = ht.ensembles.pareto(
        jax.random.key(2), (2048, 2048), mu=mu, convention=convention, dtype=jnp.float32
    )
    w = np.abs(np.asarray(W, np.float64)).ravel()
    e = mu * (np.log(w) if convention == "symmetric" else np.log1p(w))  # exactly Exp(1)
    assert scipy.stats.kstest(_renyi_spacings(e), "expon").statistic < _crit(_TOP)
    # no ties among the largest entries (float32 jax.random lumped them on log(2^23/k))
    assert np.unique(np.sort(w)[-_TOP:]).size == _TOP


def test_float32_levy_stable_tail_equals_float64():
    a = 1.5
    x32 = np.abs(
        np.asarray(
            ht.ensembles.levy_stable(
                jax.random.key(3), (2048, 2048), alpha_stable=a, dtype=jnp.float32
            ),
            float,
        )
    )
    x64 = np.abs(
        np.asarray(
            ht.ensembles.levy_stable(
                jax.random.key(4), (2048, 2048), alpha_stable=a, dtype=jnp.float64
            )
        )
    )
    x32, x64 = x32.ravel(), x64.ravel()
    assert np.all(np.isfinite(x32))
    # the bulk: two-sample KS on 2^22 draws each
    sub = slice(0, 200_000)
    assert scipy.stats.ks_2samp(x32[sub], x64[sub]).statistic < _crit(200_000, 200_000)
    # the far tail: the top 1000 of each, on the log scale
    t32, t64 = np.sort(x32)[-1000:], np.sort(x64)[-1000:]
    assert scipy.stats.ks_2samp(np.log(t32), np.log(t64)).statistic < _crit(1000, 1000)
    assert np.unique(t32[-_TOP:]).size == _TOP


def test_float32_cauchy_tail():
    x = np.asarray(
        ht.ensembles.levy_stable(
            jax.random.key(5), (2048, 2048), alpha_stable=1.0, dtype=jnp.float32
        ),
        float,
    )
    x = x.ravel()
    # |X| of a standard Cauchy: P(|X| > x) = 1 − 2 atan(x)/π; the top values by their exact sf
    top = np.sort(np.abs(x))[-_TOP:]
    u = 1 - 2 * np.arctan(top) / np.pi  # Uniform order statistics near 0, times n: Poisson points
    gaps = np.diff(np.concatenate([[0.0], np.sort(u) * _N]))
    assert scipy.stats.kstest(gaps, "expon").statistic < _crit(_TOP)
