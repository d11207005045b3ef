"""The ``htrmt analyze`` command."""

import csv
import io
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import htrmt as ht
from htrmt.cli import main

SHAPE = (500, 250)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    d = tmp_path_factory.mktemp("w")
    k1, k2 = jax.random.split(jax.random.key(9))
    np.savez(
        d / "model.npz",
        **{
            "enc.weight": np.asarray(ht.ensembles.gaussian(k1, SHAPE, dtype=jnp.float64)),
            "dec.weight": np.asarray(ht.ensembles.pareto(k2, SHAPE, mu=1.5, dtype=jnp.float64)),
            "dec.bias": np.zeros(SHAPE[1]),
        },
    )
    return d / "model.npz"


def test_cli_csv_and_json(weights, capsys, tmp_path):
    assert main(["analyze", str(weights), "--format", "csv", "--no-progress"]) == 0
    out = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["enc.weight", "dec.weight"]
    assert rows[0]["phase"] == "random-like"
    assert (
        main(
            [
                "analyze",
                str(weights),
                "--format",
                "json",
                "--no-progress",
                "--normalization",
                "none",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["normalization"] == "none"
    assert data["skipped"][0]["name"] == "dec.bias"
    out_file = tmp_path / "t.txt"
    assert main(["analyze", str(weights), "--no-progress", "-o", str(out_file)]) == 0
    assert "alpha_hat" in out_file.read_text()


def test_cli_plots_and_html(weights, capsys, tmp_path):
    html = tmp_path / "r.html"
    plots = tmp_path / "plots"
    assert (
        main(["analyze", str(weights), "--no-progress", "--html", str(html), "--plots", str(plots)])
        == 0
    )
    out = capsys.readouterr()
    assert "enc.weight" in out.out and "wrote HTML report" in out.err
    assert html.read_text().count("data:image/png;base64,") == 3
    assert sorted(p.name for p in plots.iterdir())[-1] == "overview.png"


def test_cli_progress_bar(weights, capsys):
    assert main(["analyze", str(weights), "--format", "csv"]) == 0
    err = capsys.readouterr().err
    assert "analyze" in err and "layer" in err  # tqdm's bar on stderr


def test_cli_bad_paths(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.npz"), "--no-progress"]) == 2
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "x.txt").write_text("hello")
    assert main(["analyze", str(tmp_path / "x.txt"), "--no-progress"]) == 2
    assert "not a model file" in capsys.readouterr().err
    bad = tmp_path / "nan.npz"
    w = np.ones((30, 20))
    w[0, 0] = np.nan
    np.savez(bad, **{"layer1.weight": w})
    html = tmp_path / "nan.html"
    assert main(["analyze", str(bad), "--no-progress", "--html", str(html)]) == 2
    assert "layer1.weight" in capsys.readouterr().err
    assert not html.exists()  # nothing partial is written


@pytest.mark.slow
def test_cli_default_model_prints_table_and_writes_html(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["analyze", "--no-progress"]) == 0
    out = capsys.readouterr()
    assert "conv2.weight" in out.out and "alpha_hat" in out.out
    assert (tmp_path / "htrmt_report.html").exists()
