"""vsdl.simulation: Monte Carlo Gibbs learning against the theory, diagnostics, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vsdl import simulation as sim
from vsdl import theory as th


def test_spherical_monte_carlo_matches_replica_theory(key):
    # Quenched RS theory at τ > 0 (q ≠ R) vs Monte Carlo at N = 50, 16 independent replicas
    # (teacher, data and chain each). Band: 4.5 standard errors (t with 15 dof: two-sided
    # p ≈ 4e-4 per point, < 1e-3 false failures for the two points) plus a finite-size bias
    # allowance of 1/N fixed before looking at the data (ε's corrections are O(1/N)).
    a = np.array([1.0, 2.0])
    t = np.array([0.5, 1.0])
    n = 50
    res = sim.gibbs_learning(
        key, a, t, n=n, model="spherical", replicas=16, sweeps=1500, burn_in=500
    )
    ref = th.generalization_error(a, t, model="spherical", theory="quenched")
    assert res.equilibrated.all(), (res.tau_int, res.drift)
    assert np.all(np.abs(res.epsilon - ref) <= 4.5 * res.epsilon_err + 1.0 / n), (res.epsilon, ref)
    assert np.all((res.acceptance > 0.2) & (res.acceptance < 0.7))  # tuned toward 40 %
    assert res.epsilon.shape == (2,) and res.epsilon_replicas.shape == (2, 16)
    # the annealed approximation is not the reference: RS and annealed differ here
    assert np.all(np.abs(ref - th.generalization_error(a, t, model="spherical")) > 1e-3)


def test_ising_spinodal_physics(key):
    # Hot-started chains: below the transition they stay poor; far beyond the spinodal of the
    # poor state (annealed τ = 0.5: 2.05; quenched τ = 0: 1.49) the poor state no longer exists
    # and every replica reaches perfect generalization.
    res = sim.gibbs_learning(
        key, np.array([0.5, 4.0]), np.array([1.0, 0.5]), n=48, model="ising", replicas=6, sweeps=400
    )
    # the Ising RS theory at τ > 0 (q ≠ R); band: 4.5 standard errors (t, 5 dof: p ≈ 6e-3) plus
    # the 1/N finite-size allowance
    ref = float(th.generalization_error(0.5, 1.0, model="ising", theory="quenched"))
    assert abs(res.epsilon[0] - ref) <= 4.5 * res.epsilon_err[0] + 1.0 / 48, (res.epsilon, ref)
    assert np.all(res.epsilon_replicas[1] < 0.02)
    assert res.equilibrated[1]  # frozen exactly at R = 1 is the ground state, not a failure
    assert 0 < res.acceptance[0] < 1


def test_float32_chain_and_trial_function(key):
    out = sim.trial(
        key,
        alpha=jnp.float32(1.0),
        tau=jnp.float32(0.8),
        n=16,
        p_max=16,
        model="spherical",
        sweeps=30,
        burn_in=10,
    )
    assert out["R"].dtype == jnp.float32 and out["R"].shape == (30,)
    assert np.all(np.abs(np.asarray(out["R"])) <= 1.0 + 1e-6)
    assert np.all((np.asarray(out["acceptance"]) >= 0) & (np.asarray(out["acceptance"]) <= 1))


def test_integrated_autocorrelation_time_ar1(key):
    # AR(1) with ρ = 0.8: τ_int = (1 + ρ)/(1 − ρ) = 9. Sokal's estimator has relative standard
    # deviation ≈ √(2(2M+1)/T) ≈ 0.095 per series (M ≈ 45, T = 20000); the mean of 40 series has
    # ≈ 0.015: a 6 % tolerance is 4 standard deviations (false-failure rate < 1e-4).
    rho, T, m = 0.8, 20000, 40
    z = np.asarray(jax.random.normal(key, (m, T)))
    x = np.empty_like(z)
    x[:, 0] = z[:, 0] / math.sqrt(1 - rho * rho)
    for i in range(1, T):
        x[:, i] = rho * x[:, i - 1] + z[:, i]
    tau = sim.integrated_autocorrelation_time(x)
    assert abs(tau.mean() / 9.0 - 1) < 0.06
    assert np.isinf(sim.integrated_autocorrelation_time(np.ones((1, 100))))[0]


def test_not_equilibrated_is_reported(key):
    # far too few sweeps at low temperature: the output must say so
    res = sim.gibbs_learning(key, 2.0, 0.05, n=48, model="ising", replicas=4, sweeps=12, burn_in=2)
    assert not bool(res.equilibrated)
    with pytest.raises(RuntimeError, match="did not equilibrate"):
        res.check()


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(n=4), ValueError, "n"),
        (dict(alpha=0.0), ValueError, "alpha"),
        (dict(alpha=-2.0), ValueError, "alpha"),
        (dict(tau=-0.5), ValueError, "tau"),
        (dict(model="xy"), ValueError, "model"),
        (dict(replicas=1), ValueError, "replicas"),
        (dict(sweeps=10, burn_in=9), ValueError, "burn_in"),
        (dict(n=10.0), TypeError, "n"),
    ],
)
def test_bad_input(key, kwargs, exc, match):
    args = dict(alpha=1.0, tau=0.5, n=16, model="ising", replicas=2, sweeps=10) | kwargs
    a, t = args.pop("alpha"), args.pop("tau")
    with pytest.raises(exc, match=match):
        sim.gibbs_learning(key, a, t, **args)


def test_bad_key():
    with pytest.raises(TypeError, match="key"):
        sim.gibbs_learning(0, 1.0, 0.5, n=16)


@pytest.mark.slow
def test_finite_size_band_tightens(key):
    # At N = 200 the same comparison with a 1/N band (0.005) and 24 replicas.
    a, t, n = np.array([2.0]), np.array([1.0]), 200
    res = sim.gibbs_learning(
        key, a, t, n=n, model="spherical", replicas=24, sweeps=2000, burn_in=600
    )
    ref = th.generalization_error(a, t, model="spherical", theory="quenched")
    assert res.equilibrated.all()
    assert np.all(np.abs(res.epsilon - ref) <= 4.5 * res.epsilon_err + 1.0 / n)
