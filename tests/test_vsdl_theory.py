"""vsdl.theory: literature numbers, closed forms, brute-force maxima, limits, bad input.

The theory is numpy float64 (quadrature and root finding on the host), so there is no jit/vmap
to compare; vectorisation is checked against point-by-point evaluation instead.
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from vsdl import theory as th


def _H(x):
    return 0.5 * special.erfc(x / math.sqrt(2.0))


def _binary_entropy(R):
    p, pm = (1 + R) / 2, (1 - R) / 2
    return -special.xlogy(p, p) - special.xlogy(pm, pm)


def _sphere_entropy(R):
    return 0.5 * np.log1p(-R * R)


# ----------------------------------------------------------------------------- literature


def test_ising_quenched_transition_literature():
    cl = th.critical_load(model="ising", theory="quenched")
    # Györgyi 1990; Sompolinsky, Tishby & Seung 1990: α_c ≈ 1.245, spinodal ≈ 1.49
    assert abs(float(cl.alpha_c) - 1.245) < 5e-4
    assert abs(float(cl.alpha_spinodal) - 1.49) < 5e-3
    assert float(cl.alpha_c) < float(cl.alpha_spinodal)
    # at α_c the poor state's free entropy equals the perfect state's (0)
    b = th.branches(float(cl.alpha_c), 0.0, model="ising", theory="quenched")
    poor = b.stable & b.valid & (b.epsilon > 0)
    assert poor.sum() == 1
    assert abs(b.free_entropy[poor][0]) < 1e-8
    assert abs(b.epsilon[poor][0] - float(cl.epsilon_poor)) < 1e-6


def test_ising_annealed_transition_literature():
    cl = th.critical_load(model="ising", theory="annealed", tau=0.0)
    assert abs(float(cl.alpha_c) - 1.448) < 5e-4  # first-moment threshold, Engel & VdB ch. 7


def test_ising_high_temperature_spinodal():
    # the high-temperature spinodal, α/τ ≈ 2.08, beyond which only perfect generalization exists
    cl = th.critical_load(model="ising", theory="high_temperature")
    assert abs(float(cl.alpha_spinodal) - 2.08) < 5e-3
    assert 1.6 < float(cl.alpha_c) < float(cl.alpha_spinodal)


@pytest.mark.parametrize("theory,c", [("quenched", 0.625), ("annealed", 1.0)])
def test_spherical_large_alpha(theory, c):
    # ε ~ c/α: 0.625 (quenched Gibbs learning, quoted to three digits) and 1 (annealed)
    a = np.array([1e3, 1e4])
    prod = a * th.generalization_error(a, 0.0, model="spherical", theory=theory)
    assert np.all(np.abs(prod - c) < 1.5e-3)
    assert abs(prod[1] - c) < abs(prod[0] - c) + 1e-4  # approaches the constant


# ----------------------------------------------------------------------------- references


def test_psi_against_quad():
    for q in (0.0, 0.2, 0.7, 0.99, 0.9999):
        a = math.sqrt(q / (1 - q))
        f = lambda t, a=a: (
            2
            * math.exp(-t * t / 2)
            / math.sqrt(2 * math.pi)
            * (_H(-a * t) * math.log(_H(-a * t)) if _H(-a * t) > 0 else 0.0)
        )
        ref = integrate.quad(f, -12, 12, points=[0.0], limit=400, epsabs=1e-13)[0]
        assert abs(float(th.psi(q)) - ref) < 1e-9


def test_spherical_high_temperature_closed_form_vs_maximisation():
    lam = np.array([0.3, 1.0, 2.5, 7.0])
    closed = th.generalization_error(lam, 1.0, model="spherical", theory="high_temperature")
    np.testing.assert_allclose(closed, np.arctan(np.pi / lam) / np.pi, rtol=1e-14)
    # the generic branch machinery (saddle-point curve + bisection)
    b = th.branches(lam, 1.0, model="spherical", theory="high_temperature")
    np.testing.assert_allclose(b.global_epsilon, closed, atol=1e-10)
    # a direct numerical maximisation of s(R) − (α/τ) ε(R)
    for l, e in zip(lam, closed, strict=True):
        res = optimize.minimize_scalar(
            lambda R, l=l: -(_sphere_entropy(R) - l * np.arccos(R) / np.pi),
            bounds=(0.0, 1 - 1e-12),
            method="bounded",
            options={"xatol": 1e-12},
        )
        assert abs(np.arccos(res.x) / np.pi - e) < 1e-6


@pytest.mark.parametrize("model", ["ising", "spherical"])
@pytest.mark.parametrize("tau", [0.0, 0.3, 1.0])
def test_annealed_vs_brute_force_grid(model, tau):
    R = 1 - np.geomspace(1e-12, 1, 200001)[::-1]
    R = np.concatenate([R, [1.0]]) if model == "ising" else R
    s = _binary_entropy(R) if model == "ising" else _sphere_entropy(R)
    c = 1.0 if tau == 0 else -math.expm1(-1 / tau)
    eps_R = np.arccos(np.clip(R, -1, 1)) / np.pi
    for alpha in (0.4, 1.2, 1.6, 3.0):
        f = s + alpha * np.log1p(-c * eps_R)
        best = eps_R[np.argmax(f)]
        got = float(th.generalization_error(alpha, tau, model=model, theory="annealed"))
        assert abs(got - best) < 2e-3, (alpha, got, best)
        assert float(th.free_entropy(alpha, tau, model=model, theory="annealed")) >= f.max() - 1e-9


def test_spherical_quenched_vs_brute_force():
    q = np.linspace(1e-4, 0.999, 4000)
    psi = th.psi(q)
    for alpha in (0.5, 2.0, 6.0):
        f = 0.5 * np.log1p(-q) + q / 2 + alpha * psi
        best = np.arccos(q[np.argmax(f)]) / np.pi
        got = float(th.generalization_error(alpha, 0.0, model="spherical", theory="quenched"))
        assert abs(got - best) < 2e-3


def test_every_branch_is_stationary():
    # each reported saddle point makes f'(R) vanish (annealed, Ising, two interior branches)
    b = th.branches(1.6, 0.0, model="ising", theory="annealed")
    interior = b.valid & (b.epsilon > 0)
    assert interior.sum() == 2 and b.num_stable == 2  # poor (metastable) + unstable + perfect
    for e in b.epsilon[interior]:
        R = math.cos(math.pi * e)
        g = lambda r: _binary_entropy(r) + 1.6 * math.log(1 - math.acos(r) / math.pi)
        h = 1e-6
        assert abs((g(R + h) - g(R - h)) / (2 * h)) < 1e-5
    stable = b.stable[interior]
    assert stable.tolist() == [True, False]  # ordered by decreasing ε: poor max, then the min


# ----------------------------------------------------------------------------- limits


def test_high_temperature_is_the_limit_of_annealed():
    lam = np.array([0.5, 1.0, 2.0])
    for model in ("spherical", "ising"):
        ht = th.generalization_error(lam, 1.0, model=model, theory="high_temperature")
        errs = [
            np.max(np.abs(th.generalization_error(lam * T, T, model=model, theory="annealed") - ht))
            for T in (10.0, 100.0)
        ]
        assert errs[1] < 2e-3 and errs[1] < errs[0] / 5  # O(1/τ) convergence


def test_replica_symmetric_limits():
    a = np.array([0.5, 2.0, 5.0])
    cold = th.replica_symmetric(a, 0.02)
    zero = th.generalization_error(a, 0.0, model="spherical", theory="quenched")
    np.testing.assert_allclose(cold.epsilon, zero, atol=1e-6)
    np.testing.assert_allclose(cold.q, cold.R, atol=1e-6)  # q = R at τ → 0
    hot = th.replica_symmetric(a, 0.5)
    assert np.all(hot.q < hot.R) and np.all(hot.q > hot.R**2)
    lam = 1.0
    errs = [
        abs(float(th.replica_symmetric(lam * T, T).epsilon) - math.atan(math.pi / lam) / math.pi)
        for T in (5.0, 50.0)
    ]
    assert errs[1] < 1e-3 and errs[1] < errs[0] / 5


def test_ising_replica_symmetric_positive_temperature():
    # τ → 0: the version-space transition; τ → ∞ at fixed α/τ: the high-temperature one, with an
    # error falling like 1/τ; the annealed approximation overestimates α_c at every τ here
    cold = th.critical_load(model="ising", theory="quenched", tau=[0.0, 0.02])
    assert abs(cold.alpha_c[1] - cold.alpha_c[0]) < 1e-5
    assert abs(cold.alpha_spinodal[1] - cold.alpha_spinodal[0]) < 1e-4
    ht = float(th.critical_load(model="ising", theory="high_temperature").alpha_c)
    errs = [
        abs(float(th.critical_load(model="ising", theory="quenched", tau=T).alpha_c) / T - ht)
        for T in (5.0, 20.0)
    ]
    assert errs[1] < errs[0] / 2.5 and errs[1] < 0.03
    t = np.array([0.5, 1.0])
    q = th.critical_load(model="ising", theory="quenched", tau=t)
    assert np.all(q.alpha_c < th.critical_load(model="ising", theory="annealed", tau=t).alpha_c)
    assert np.all(q.alpha_c < q.alpha_spinodal)
    # the branch interpolation agrees with a direct Newton solve of the saddle point
    from vsdl._quenched_t import solve_ising

    e = th.branches(1.0, 0.5, model="ising", theory="quenched").epsilon[0]
    qq, R, f, ok = solve_ising(np.array([1.0]), np.array([0.5]), np.array([0.5]))
    assert ok[0] and abs(np.arccos(R[0]) / np.pi - e) < 1e-4 and np.all(qq < R)


# ----------------------------------------------------------------------------- shape, monotonicity


def test_vectorised_equals_pointwise():
    a = np.array([0.3, 1.0, 2.0])
    t = np.array([0.0, 0.7])
    grid = th.generalization_error(a[:, None], t[None, :], model="ising", theory="annealed")
    assert grid.shape == (3, 2) and grid.dtype == np.float64
    for i in range(3):
        for j in range(2):
            assert grid[i, j] == float(th.generalization_error(a[i], t[j], model="ising"))


@pytest.mark.parametrize("model", ["ising", "spherical"])
@pytest.mark.parametrize("theory", ["annealed", "high_temperature", "quenched"])
def test_monotone_in_alpha(model, theory):
    a = np.geomspace(0.05, 20, 80 if theory != "quenched" else 40)
    e = th.generalization_error(a, 0.0 if theory == "quenched" else 0.8, model=model, theory=theory)
    assert np.all(np.diff(e) <= 1e-12)
    assert np.all((e >= 0) & (e <= 0.5))


@pytest.mark.parametrize("model", ["ising", "spherical"])
def test_monotone_in_tau(model):
    t = np.linspace(0.0, 3.0, 40)
    e = th.generalization_error(1.0, t, model=model, theory="annealed")
    assert np.all(np.diff(e) >= -1e-12)
    tq = np.linspace(0.0, 2.0, 6)
    eq = th.generalization_error(1.0, tq, model=model, theory="quenched")
    assert np.all(np.diff(eq) >= -1e-9)


def test_critical_load_line_shape_and_monotone():
    t = np.linspace(0.0, 1.5, 7)
    cl = th.critical_load(model="ising", theory="annealed", tau=t)
    assert cl.alpha_c.shape == t.shape
    assert np.all(np.diff(cl.alpha_c) > 0) and np.all(cl.alpha_spinodal > cl.alpha_c)


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(alpha=0.0), "alpha"),
        (dict(alpha=-1.0), "alpha"),
        (dict(alpha=np.nan), "alpha"),
        (dict(tau=-0.1), "tau"),
        (dict(model="potts"), "model"),
        (dict(theory="exact"), "theory"),
        (dict(theory="quenched", tau=1.0, alpha=1e-5), "alpha"),  # below the resolved range
    ],
)
def test_bad_input(kwargs, match):
    args = dict(alpha=1.0, tau=0.0, model="ising", theory="annealed") | kwargs
    a, t = args.pop("alpha"), args.pop("tau")
    with pytest.raises(ValueError, match=match):
        th.generalization_error(a, t, **args)


def test_bad_input_types_and_critical_load():
    with pytest.raises(TypeError, match="alpha"):
        th.generalization_error("1.0", 0.0)
    with pytest.raises(ValueError, match="spherical"):
        th.critical_load(model="spherical", theory="annealed")
    with pytest.raises(ValueError, match="tau"):
        th.critical_load(model="ising", theory="annealed", tau=-1.0)
    with pytest.raises(ValueError, match="model"):
        th.critical_load(model="xy")
