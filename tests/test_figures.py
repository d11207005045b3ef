"""`python -m figures --quick` regenerates every figure from scratch (simulations included)."""

import os
import subprocess
import sys

import numpy as np
import pytest


def test_all_figures_quick(tmp_path):
    # Run in an empty folder so that every figure has to produce its own data.
    env = dict(os.environ, HTRMT_OUT=str(tmp_path / "out"), MPLBACKEND="Agg")
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
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "valid names" in proc.stderr and "mp_densities" in proc.stderr


def test_figures_cli_list():
    from htrmt.cli import main

    assert main(["figures", "--list"]) == 0


@pytest.mark.parametrize("name", ["mp_densities"])
def test_figure_main_accepts_common_arguments(name, tmp_path, monkeypatch):
    monkeypatch.setenv("HTRMT_OUT", str(tmp_path / "out"))
    import importlib

    mod = importlib.import_module(f"figures.fig_{name}")
    assert mod.main(["--quick", "--out", str(tmp_path / "f")]) == 0
    assert (tmp_path / "f" / f"{name}.png").exists()
