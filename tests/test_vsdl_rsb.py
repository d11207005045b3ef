"""vsdl beyond replica symmetry: the replicon factor, the frozen 1RSB glass, hard RS points."""

import math

import numpy as np
import pytest

import vsdl
from vsdl import _quenched_t as qt
from vsdl import _theory as _th
from vsdl import theory as th

# ----------------------------------------------------------------------------- replicon


def test_replicon_is_one_at_the_tau0_spinodal():
    # Nishimori line: the replicon equals the slope of the saddle-point map, 1 at its fold
    cl = th.critical_load(model="ising", theory="quenched")
    assert float(cl.alpha_spinodal) == pytest.approx(1.4926, abs=1e-4)
    m = math.cos(math.pi * float(cl.epsilon_spinodal))
    lam = qt.replicon([m], [m], [np.inf], [float(cl.alpha_spinodal)], "ising")[0]
    assert lam == pytest.approx(1.0, abs=1e-5)
    # approaching the fold along the stable branch: below 1, rising to it like a square root
    a = float(cl.alpha_spinodal) * (1.0 - np.array([1e-2, 1e-4]))
    b = th.branches(a, 0.0, model="ising", theory="quenched")
    poor, unstable = b.replicon[:, 0], b.replicon[:, 1]
    assert np.all(poor < 1.0) and np.all(unstable > 1.0)
    gap = 1.0 - poor
    assert gap[1] / gap[0] == pytest.approx(0.1, rel=0.15)


def test_replicon_equals_the_slope_of_the_nishimori_map():
    # independent route at τ = 0: λ = (dm/dm̂) · 2α Ψ''(m) with m = E tanh(m̂ + √m̂ z), m̂ = 2αΨ'(m)
    alpha = 1.0
    b = th.branches(alpha, 0.0, model="ising", theory="quenched")
    for slot in (0, 1):  # the poor branch and its unstable partner
        m = math.cos(math.pi * float(b.epsilon[slot]))
        mhat = float(2.0 * alpha * _th._psi_prime(np.array(m), np.array(1.0 - m)))
        h = 1e-5 * mhat
        dm = (_th._ising_order(np.array(mhat + h))[0] - _th._ising_order(np.array(mhat - h))[0]) / (
            2 * h
        )
        k = 1e-6
        pp = _th._psi_prime(np.array([m - k, m + k]), np.array([1 - m + k, 1 - m - k]))
        lam = float(dm * 2.0 * alpha * (pp[1] - pp[0]) / (2 * k))
        assert float(b.replicon[slot]) == pytest.approx(lam, rel=2e-4)


def test_replicon_below_055_on_relevant_branches():
    cl = th.critical_load(model="ising", theory="quenched")
    a = np.linspace(0.1, float(cl.alpha_c), 9)
    b = th.branches(a, 0.0, model="ising", theory="quenched")
    lam = b.replicon[:, 0]  # the poor state: the equilibrium up to α_c
    assert np.all(np.diff(lam) > 0)
    assert lam[-1] == pytest.approx(0.5536, abs=5e-4)
    # spherical weights, version space and τ > 0: stable, tending to 1/2 at large load
    s = th.branches(np.array([1.0, 5.0, 30.0]), 0.0, model="spherical", theory="quenched")
    assert np.all(s.replicon[:, 0] < 0.5)
    rs = th.replica_symmetric(np.array([2.0, 30.0]), np.array([0.5, 0.1]))
    assert np.all(rs.replicon < 0.5) and np.all(rs.replicon > 0.1)


def test_phase_diagram_replicon_column():
    d = vsdl.phase_diagram([0.5, 1.0, 1.4, 2.0], [0.0], model="ising", theory="quenched")
    assert d.replicon.shape == (1, 4)
    assert np.all(d.replicon[0, :3] < 1.0)
    assert d.replicon[0, 1] == pytest.approx(0.4008, abs=1e-3)
    assert np.isnan(d.replicon[0, 3])  # perfect state only
    assert vsdl.phase_diagram([1.0], [0.5], theory="annealed").replicon is None


# ----------------------------------------------------------------------------- hard RS points


def test_spherical_rs_low_temperature_large_load_converges():
    rs = th.replica_symmetric(np.array([25.0, 30.0, 50.0]), 0.1)
    cold = th.replica_symmetric(np.array([25.0, 30.0, 50.0]), 0.05)
    zero = th.generalization_error(
        np.array([25.0, 30.0, 50.0]), 0.0, model="spherical", theory="quenched"
    )
    assert np.all(rs.q <= rs.R)
    # ε rises with τ, and at τ → 0 the version space is reached
    assert np.all(rs.epsilon >= cold.epsilon) and np.all(cold.epsilon - zero < 1e-4)
    assert np.all(rs.epsilon - zero < 2e-3)
    assert float(rs.epsilon[1]) == pytest.approx(0.020805, abs=2e-5)
