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
    a = np.linspace(0.1, float(cl.alpha_c), 5)
    b = th.branches(a, 0.0, model="ising", theory="quenched")
    lam = b.replicon[:, 0]  # the poor state: the equilibrium up to α_c
    assert np.all(np.diff(lam) > 0)
    assert lam[-1] == pytest.approx(0.5536, abs=5e-4)
    # spherical weights, version space and τ > 0: stable, tending to 1/2 at large load
    s = th.branches(np.array([1.0, 5.0, 30.0]), 0.0, model="spherical", theory="quenched")
    assert np.all(s.replicon[:, 0] < 0.5)
    rs = th.replica_symmetric(2.0, 0.5)
    assert float(rs.replicon) == pytest.approx(0.1819, abs=1e-3)


def test_phase_diagram_replicon_column():
    d = vsdl.phase_diagram([0.5, 1.0, 1.4, 2.0], [0.0], model="ising", theory="quenched")
    assert d.replicon.shape == (1, 4)
    assert np.all(d.replicon[0, :3] < 1.0)
    assert d.replicon[0, 1] == pytest.approx(0.4008, abs=1e-3)
    assert np.isnan(d.replicon[0, 3])  # perfect state only
    assert d.parisi_m is None and "glass" not in d.lines  # τ = 0 only: the RS criterion
    assert vsdl.phase_diagram([1.0], [0.5], theory="annealed").replicon is None


# ----------------------------------------------------------------------------- hard RS points


def test_spherical_rs_low_temperature_large_load_converges():
    # Newton from the annealed start stalls here; the retry converges to the τ → 0 limit
    rs = th.replica_symmetric(30.0, 0.1)
    zero = float(th.generalization_error(30.0, 0.0, model="spherical", theory="quenched"))
    assert float(rs.q) <= float(rs.R)
    assert 0.0 < float(rs.epsilon) - zero < 1e-4
    assert float(rs.epsilon) == pytest.approx(0.020805, abs=2e-5)
    assert float(rs.replicon) == pytest.approx(0.4984, abs=1e-3)


# ----------------------------------------------------------------------------- frozen 1RSB

_LOADS = np.array([1.0, 1.24, 1.26337, 1.4, 2.0])  # one descent per load, cached across tests


@pytest.fixture(scope="module")
def glass02():
    return th.frozen_rsb(_LOADS, 0.2)


def test_frozen_rsb_statuses(glass02):
    names = glass02.status_names().tolist()
    assert names == [
        "replica_symmetric",
        "replica_symmetric",
        "replica_symmetric",
        "glass",
        "no_solution",
    ]
    assert list(th.RSB_STATUSES[:3]) == ["glass", "replica_symmetric", "no_solution"]
    # below the τ = 0 transition the RS entropy never vanishes; above it τ_K rises with α
    tk = glass02.tau_freeze
    assert tk[0] == 0.0 and tk[1] == 0.0 and 0.0 < tk[2] < tk[3]
    assert np.isnan(tk[4])  # the branch ends at its spinodal before its entropy vanishes
    # no silent NaN: every NaN state carries a status that says there is none
    none = ~np.isfinite(glass02.epsilon)
    assert np.all(glass02.status[none] == th.RSB_STATUSES.index("no_solution"))
    assert np.all(glass02.m[~none] <= 1.0)


def test_frozen_rsb_rs_state_at_the_transition(glass02):
    # α_c(τ = 0.2) = 1.26337 from the R-parametrised RS curve: here the direct solve at that load
    # has free entropy 0 (the perfect state's), entropy +0.034 and the curve's ε = 0.25899
    i = 2
    assert abs(float(glass02.free_entropy[i])) < 2e-4
    assert float(glass02.entropy[i]) == pytest.approx(0.034, abs=1e-3)
    assert float(glass02.epsilon[i]) == pytest.approx(0.25899, abs=1e-4)
    assert float(glass02.m[i]) == 1.0


def test_frozen_rsb_glass_is_the_rs_state_at_zero_entropy(glass02):
    from vsdl import _rsb

    i = 3
    tk = float(glass02.tau_freeze[i])
    assert float(glass02.m[i]) == pytest.approx(0.2 / tk)
    assert float(glass02.entropy[i]) == 0.0
    # the RS state at τ_K has zero entropy and the glass's overlaps and energy
    q, R, s, e, ok = _rsb._state(
        np.array([1.4]), np.array([tk]), np.array([glass02.R[i]]), np.array([glass02.q0[i]])
    )
    assert ok[0] and abs(s[0]) < 1e-5
    assert float(R[0]) == pytest.approx(float(glass02.R[i]), abs=1e-6)
    # frozen: the free entropy is −e/τ, continuous with the RS one at τ_K
    assert float(glass02.free_entropy[i]) == pytest.approx(-float(glass02.energy[i]) / 0.2)
    assert float(glass02.q0[i]) < float(glass02.R[i])


def test_frozen_rsb_m_is_continuous_through_tau_k():
    g = th.frozen_rsb(1.4, np.array([0.1, 0.2, 0.3]))
    tk = float(g.tau_freeze[0])
    assert 0.2 < tk < 0.3
    np.testing.assert_allclose(g.m[:2], [0.1 / tk, 0.2 / tk])
    assert g.status_names().tolist() == ["glass", "glass", "replica_symmetric"]
    assert float(g.entropy[2]) > 0 and float(g.epsilon[0]) == float(g.epsilon[1])


@pytest.mark.parametrize(
    "alpha,tau,match", [(1.0, 0.0, "tau"), (0.0, 0.2, "alpha"), (1.0, -1.0, "tau")]
)
def test_frozen_rsb_bad_input(alpha, tau, match):
    with pytest.raises(ValueError, match=match):
        th.frozen_rsb(alpha, tau)


@pytest.mark.slow
def test_rs_entropy_reference_numbers_tau02():
    # the RS entropy of the metastable state: +0.034 at α_c, −0.058 at the spinodal (τ = 0.2)
    cl = th.critical_load(model="ising", theory="quenched", tau=0.2)
    b = th.branches(
        np.array([float(cl.alpha_c), float(cl.alpha_spinodal) - 1e-6]),
        0.2,
        model="ising",
        theory="quenched",
    )
    assert float(b.entropy[0, 0]) == pytest.approx(0.034, abs=1e-3)
    assert float(b.entropy[1, 0]) == pytest.approx(-0.058, abs=1e-3)
    # and the frozen glass exists past the RS spinodal at this τ
    g = th.frozen_rsb(float(cl.alpha_spinodal) + 0.05, 0.2)
    assert str(g.status_names()) == "glass"
    # the replicon of the τ = 0.2 poor state at α_c stays well below 1
    assert float(b.replicon[0, 0]) < 0.55


@pytest.mark.slow
def test_phase_diagram_glass_region_and_line(tmp_path):
    alpha, tau = [1.0, 1.4, 1.7, 2.2], [0.1, 0.5]
    d = vsdl.phase_diagram(alpha, tau, model="ising", theory="quenched")
    names = d.phase_names()
    assert names[0, 1] == "spin_glass" and names[0, 0] == "poor"
    assert names[0, 2] == "perfect"  # past the end of the glass line: no frozen solution
    assert names[1].tolist() == ["poor", "poor", "coexistence", "perfect"]
    tk = float(th.frozen_rsb(1.4, 0.1).tau_freeze)
    assert float(d.parisi_m[0, 1]) == pytest.approx(0.1 / tk)
    assert d.parisi_m[1, 1] == 1.0 and np.isnan(d.parisi_m[0, 3])
    tl, al = d.lines["glass"]
    cl0 = th.critical_load(model="ising", theory="quenched")
    assert tl[0] == 0.0 and al[0] == pytest.approx(float(cl0.alpha_c))
    assert np.all(np.diff(tl) > 0) and np.all(np.diff(al) > 0)
    # the line ends on the spinodal
    sp = th.critical_load(model="ising", theory="quenched", tau=float(tl[-1]))
    assert float(al[-1]) == pytest.approx(float(sp.alpha_spinodal), abs=0.03)
    # saved and read back with its columns
    dgm, _ = vsdl.compute_diagram(alpha, tau, tmp_path, monte_carlo=False)
    back, _ = vsdl.load_diagram(tmp_path)
    np.testing.assert_array_equal(back.parisi_m, dgm.parisi_m)
    np.testing.assert_array_equal(back.replicon, dgm.replicon)
    np.testing.assert_array_equal(back.lines["glass"][1], dgm.lines["glass"][1])
