"""`python -m figures --quick` regenerates every figure from scratch (simulations included)."""

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent  # the script folders run from the repository root


def test_all_figures_quick(tmp_path):
    # Run in an empty folder so that every figure has to produce its own data.
    env = dict(os.environ, HTRMT_OUT=str(tmp_path / "out"), MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    out = tmp_path / "figs"
    proc = subprocess.run(
        [sys.executable, "-m", "figures", "--quick", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    import matplotlib.image as mpimg

    from figures import available

    for name in available():
        png = out / f"{name}.png"
        assert png.exists(), f"{name}: no {png}\n{proc.stdout[-2000:]}"
        assert (out / f"{name}.pdf").exists(), f"{name}: no PDF"
        img = mpimg.imread(png)
        # Not blank: a real figure has many distinct colours and some dark pixels.
        assert img.shape[0] > 200 and img.shape[1] > 200
        assert np.asarray(img)[..., :3].std() > 0.05, f"{name} looks blank"


def test_unknown_figure_lists_valid_names():
    proc = subprocess.run(
        [sys.executable, "-m", "figures", "no_such_figure"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "valid names" in proc.stderr and "mp_densities" in proc.stderr


def test_figures_list():
    proc = subprocess.run(
        [sys.executable, "-m", "figures", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    from figures import available

    assert proc.stdout.split() == available()


@pytest.mark.parametrize("name", ["mp_densities"])
def test_figure_main_accepts_common_arguments(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HTRMT_OUT", str(tmp_path / "out"))
    import figures

    mod = importlib.import_module(f"figures.fig_{name}")
    # a figure only reads data: without its simulation output it names the command and fails
    with pytest.raises(FileNotFoundError, match="python -m sims.talk_spectra mp_densities"):
        mod.main(["--quick", "--out", str(tmp_path / "f")])
    for data in figures.needs(name):
        data.make(quick=True)
        assert data.exists(quick=True)
    assert mod.main(["--quick", "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / f"{name}.png").exists()


def test_every_figure_declares_the_data_it_reads():
    import figures

    for name in figures.available():
        needs = figures.needs(name)
        assert needs and all(isinstance(d, figures.Data) for d in needs), name
        for d in needs:  # each names a sims module with the runner's two functions
            mod = importlib.import_module(d.module)
            assert callable(mod.data_path) and callable(mod.simulate), d
            assert d.path(quick=True).suffix == ".npz", d


def test_no_script_imports_a_private_htrmt_module():
    import re

    pattern = re.compile(r"(from|import)\s+htrmt(\.\w+)*\._\w+")
    for folder in ("sims", "figures", "paper_repro"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not pattern.search(path.read_text()), path
