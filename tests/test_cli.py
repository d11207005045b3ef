"""The htrmt command: --help, tour, sample, esd, and clear errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from htrmt.cli import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for cmd in ("tour", "sample", "esd", "analyze", "sweep", "vsdl", "figures", "repro"):
        assert cmd in out


@pytest.mark.parametrize(
    ("cmd", "instead"),
    [("figures", "python -m figures"), ("repro", "python -m paper_repro"), ("vsdl", "vsdl")],
)
def test_moved_subcommands_say_what_to_run_instead(cmd, instead):
    # run in a fresh process: the message names the command, and htrmt imports none of them
    code = (
        "import sys\n"
        "from htrmt.cli import main\n"
        f"rc = main([{cmd!r}, '--quick', 'x'])\n"
        "heavy = ('jax', 'numpy', 'vsdl', 'figures', 'paper_repro', 'sims')\n"
        "print(rc, sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split(None, 1) == ["2", "[]\n"], proc.stdout + proc.stderr
    assert f"    {instead}" in proc.stderr and "--quick x" in proc.stderr
    assert "deprecated" in proc.stderr


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "htrmt", "--version"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.startswith("htrmt ")


def test_tour_small(tmp_path, capsys):
    assert main(["tour", "-N", "400", "-M", "200", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for label in ("gaussian", "spiked", "weakly HT", "moderately HT", "very HT"):
        assert label in out
    data = json.loads((tmp_path / "tour.json").read_text())
    rows = {r["label"]: r for r in data["rows"]}
    assert rows["gaussian"]["phase"] == "random-like"
    assert rows["gaussian"]["ks_to_mp"] < 0.05
    assert rows["very HT (pareto mu=1.5)"]["lambda_max_over_lambda_plus"] > 10
    assert (tmp_path / "tour.png").stat().st_size > 10_000
    assert (tmp_path / "tour.pdf").exists()


def test_sample_then_esd(tmp_path, capsys):
    f = tmp_path / "W.npy"
    assert main(["sample", "pareto", "--mu", "2", "--shape", "200", "100", "-o", str(f)]) == 0
    W = np.load(f)
    assert W.shape == (200, 100)
    assert (tmp_path / "W.png").exists()
    assert main(["esd", str(f)]) == 0
    lam = np.load(tmp_path / "W.esd.npy")
    assert lam.shape == (100,) and np.all(np.diff(lam) >= 0)
    np.testing.assert_allclose(lam, np.linalg.eigvalsh(W.T @ W / 200), rtol=1e-10)
    assert (tmp_path / "W.esd.png").exists()


def test_esd_errors(tmp_path, capsys):
    assert main(["esd", str(tmp_path / "missing.npy")]) == 2
    assert "does not exist" in capsys.readouterr().err
    bad = tmp_path / "v.npy"
    np.save(bad, np.ones(5))
    assert main(["esd", str(bad)]) == 2
    assert "2-D" in capsys.readouterr().err
    nan = tmp_path / "nan.npy"
    W = np.ones((4, 3))
    W[1, 2] = np.nan
    np.save(nan, W)
    assert main(["esd", str(nan)]) == 2
    assert "NaN" in capsys.readouterr().err
    txt = tmp_path / "w.xyz"
    txt.write_text("1 2")
    assert main(["esd", str(txt)]) == 2
    assert "unsupported" in capsys.readouterr().err


def test_tour_rejects_wide(capsys):
    assert main(["tour", "-N", "100", "-M", "200"]) == 2
    assert "-N must be >= -M" in capsys.readouterr().err
