"""vsdl.phase_diagram, the resumable Monte Carlo diagram, the CLI and the figure script."""

import json

import numpy as np
import pytest

import vsdl
from vsdl import theory as th


def test_ising_annealed_phases_and_lines():
    d = vsdl.phase_diagram([0.5, 1.6, 2.0], [0.0, 1.0], model="ising", theory="annealed")
    names = d.phase_names()
    assert names.shape == (2, 3)
    # τ = 0: poor below α_c = 1.448; at 1.6 the metastable poor state has negative entropy
    # (frozen, a spin glass) while perfect generalization is the equilibrium; beyond the
    # spinodal 1.73 only the perfect state is left
    assert names[0].tolist() == ["poor", "spin_glass", "perfect"]
    assert names[1, 0] == "poor"
    tl, al = d.lines["transition"]
    assert tl[0] == 0.0 and abs(al[0] - 1.448) < 5e-4
    assert np.all(d.lines["spinodal"][1] > al)
    assert abs(float(d.lines["quenched_tau0"][1][0]) - 1.245) < 5e-4
    assert d.num_stable[0, 1] == 2 and d.num_stable[0, 2] == 1


def test_ising_quenched_tau0():
    d = vsdl.phase_diagram([1.0, 1.3, 1.6], [0.0], model="ising", theory="quenched")
    assert d.phase_names()[0].tolist() == ["poor", "spin_glass", "perfect"]
    # τ = 0.5: α_c = 1.571, spinodal 1.903 (RS with q ≠ R); the metastable state at 1.6 has
    # positive entropy there
    d = vsdl.phase_diagram([1.0, 1.6, 2.0], [0.0, 0.5], model="ising", theory="quenched")
    assert d.phase_names()[1].tolist() == ["poor", "coexistence", "perfect"]
    tl, al = d.lines["transition"]
    assert tl[0] == 0.0 and abs(al[0] - 1.24468) < 1e-4 and np.all(np.diff(al) > 0)


def test_coexistence_at_positive_temperature():
    # τ = 1, annealed: between α_c = 2.431 and the spinodal 2.928 the poor state is metastable
    # with positive entropy
    d = vsdl.phase_diagram([2.0, 2.7, 3.2], [1.0], model="ising", theory="annealed")
    assert d.phase_names()[0].tolist() == ["poor", "coexistence", "perfect"]


def test_spherical_crossover_line():
    t = np.array([0.0, 0.5])
    d = vsdl.phase_diagram(
        np.geomspace(0.5, 20, 6), t, model="spherical", theory="annealed", good_error=0.2
    )
    tl, al = d.lines["crossover"]
    e = th.generalization_error(al, tl, model="spherical", theory="annealed")
    np.testing.assert_allclose(e, 0.2, atol=1e-6)
    assert set(d.phase_names().ravel()) <= {"poor", "good"}
    # hotter needs more data (flat at low τ, where e^{-1/τ} is negligible)
    assert np.all(np.diff(al) >= -1e-9) and al[-1] > al[0] + 0.5


def test_phase_diagram_bad_input():
    with pytest.raises(ValueError, match="good_error"):
        vsdl.phase_diagram([1.0], [0.0], good_error=0.7)
    with pytest.raises(ValueError, match="1-D"):
        vsdl.phase_diagram([[1.0]], [0.0])
    with pytest.raises(ValueError, match="alpha"):
        vsdl.phase_diagram([0.0, 1.0], [0.0])


def test_simulate_diagram_resumable(key, tmp_path):
    a, t = [0.5, 1.5], [0.5, 1.0]
    kw = dict(n=16, model="ising", replicas=2, sweeps=20, burn_in=5, out=tmp_path / "s")
    r1 = vsdl.simulate_diagram(key, a, t, **kw)
    assert r1.epsilon.shape == (2, 2) and r1.epsilon_replicas.shape == (2, 2, 2)
    assert r1.alpha[0].tolist() == a and r1.tau[:, 0].tolist() == t
    r2 = vsdl.simulate_diagram(key, a, t, **kw)  # resumes: nothing recomputed, same numbers
    np.testing.assert_array_equal(r1.epsilon, r2.epsilon)
    d = vsdl.phase_diagram(a, t, model="ising", simulation=r1)
    assert d.simulation is r1
    with pytest.raises(ValueError, match="shape"):
        vsdl.phase_diagram(a, [0.5], model="ising", simulation=r1)


def test_compute_diagram_saves_and_loads(tmp_path):
    import vsdl

    folder = tmp_path / "d"
    dgm, meta = vsdl.compute_diagram([0.5, 1.0, 2.0], [0.0, 0.5], folder, monte_carlo=False)
    assert meta["monte_carlo"] is False and meta["theory"] == "quenched"
    back, meta2 = vsdl.load_diagram(folder)
    assert meta2 == json.loads(json.dumps(meta))
    np.testing.assert_array_equal(back.phase, dgm.phase)
    np.testing.assert_allclose(back.epsilon, dgm.epsilon)
    assert back.lines.keys() == dgm.lines.keys()
    with pytest.raises(ValueError, match="tau > 0"):
        vsdl.compute_diagram([1.0], [0.0, 0.5], tmp_path / "e")


def test_cli_critical_and_theory_diagram(tmp_path, capsys):
    from vsdl import load_diagram
    from vsdl._cli import main

    assert main(["critical"]) == 0
    out = capsys.readouterr().out
    assert "1.24468" in out and "1.44797" in out
    folder = tmp_path / "d"
    rc = main(
        ["diagram", "--no-mc", "--alpha", "0.5,1.0,2.0", "--tau", "0,0.5", "--out", str(folder)]
    )
    assert rc == 0
    assert (folder / "diagram.png").exists()
    meta = json.loads((folder / "diagram.json").read_text())
    assert meta["model"] == "ising" and meta["monte_carlo"] is False and "environment" in meta
    d, _ = load_diagram(folder)
    assert d.phase.shape == (2, 3)
    assert main(["diagram", "--alpha", "bad"]) == 2
    assert main(["diagram", "--alpha=-1,1", "--no-mc", "--out", str(tmp_path / "e")]) == 2


@pytest.mark.slow
def test_cli_monte_carlo_and_figure(tmp_path):
    from figures.fig_vsdl_phase_diagram import main as fig_main
    from vsdl._cli import main

    folder = tmp_path / "mc"
    rc = main(
        [
            "diagram",
            "--alpha",
            "0.5,2.5",
            "--tau",
            "0.5,1.0",
            "--n",
            "16",
            "--replicas",
            "2",
            "--sweeps",
            "30",
            "--out",
            str(folder),
            "--no-plot",
        ]
    )
    assert rc == 0
    assert fig_main(["--data", str(folder), "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").exists()


@pytest.mark.slow
def test_bridge_quick(tmp_path):
    from vsdl.bridge import main as bridge_main

    assert bridge_main(["--quick", "--out", str(tmp_path), "--plot"]) == 0
    meta = json.loads((tmp_path / "bridge.json").read_text())
    z = np.load(tmp_path / "bridge.npz")
    assert z["test_error"].shape == (2, 2) and len(meta["phases"][0][0]) == 2
    assert np.all((z["test_error"] >= 0) & (z["test_error"] <= 1))
    assert (tmp_path / "bridge.png").exists()
