"""The HTML gallery: every figure and reproduction table, opened in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from figures import available as figure_names
from figures.gallery import build

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=10000",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "/usr/bin/chromium"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _make_figures(folder: Path, names: list[str]) -> None:
    """A couple of small real PNG (and PDF) figures, drawn with matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    x = np.linspace(0.01, 4, 200)
    for i, name in enumerate(names):
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot(x, np.sqrt(np.maximum((4 - x) * x, 0)) / (2 * np.pi * x) * (i + 1))
        ax.set_xlabel("λ")
        ax.set_ylabel("ρ(λ)")
        fig.savefig(folder / f"{name}.png", dpi=60)
        fig.savefig(folder / f"{name}.pdf")
        plt.close(fig)


def _make_repro(root: Path) -> None:
    """A reproduction result written by the real writer (no training)."""
    from paper_repro import _common as C

    folder = root / "paper_repro" / "implicit_self_regularization" / "quick"
    folder.mkdir(parents=True)
    expected = {
        "title": "A & B <test>",
        "checks": {
            "x.close": {
                "part": "x",
                "value": "x.v",
                "what": "v near 1",
                "kind": "approx",
                "quick": {"expected": 1.0, "tol": 0.1},
            },
            "x.phase": {
                "part": "x",
                "value": "x.p",
                "what": "phase",
                "kind": "one_of",
                "quick": {"expected": ["random-like"]},
            },
        },
    }
    _make_figures(folder, ["figure"])  # the reproduction's own figure
    C.write_results(
        folder,
        "implicit_self_regularization",
        "quick",
        0,
        expected,
        {"x": {"v": 1.05, "p": "heavy-tailed", "seconds": 0.1}},
    )


def _body_attrs(page: Path, tmp: Path) -> dict[str, str]:
    exe = _chromium()
    assert exe is not None
    cmd = [
        exe,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    m = re.search(r"<body([^>]*)>", out.stdout)
    assert m, f"no <body> in Chromium's DOM dump (rc {out.returncode}): {out.stderr[-2000:]}"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))


def test_gallery_lists_figures_missing_ones_and_repro_tables(tmp_path):
    names = figure_names()[:2]
    _make_figures(tmp_path / "figures", names)
    _make_repro(tmp_path)
    page = build(tmp_path / "figures", tmp_path / "paper_repro", tmp_path / "gallery")
    text = page.read_text()
    for n in names:
        assert f'src="../figures/{n}.png"' in text
        assert f'href="../figures/{n}.pdf"' in text
    for n in figure_names()[2:]:  # missing ones are listed with the command producing them
        assert f"python -m figures {n} --out" in text
    # the reproduction table, escaped, with its pass/fail verdicts
    assert "A &amp; B &lt;test&gt;" in text
    assert ">pass<" in text and ">FAIL<" in text
    # a reproduction never run is listed with its command
    assert "python -m paper_repro sdm2020 --quick" in text
    assert 'src="../paper_repro/implicit_self_regularization/quick/figure.png"' in text
    assert "<script>" in text and 'data-images="pending"' in text


def test_gallery_without_any_output_lists_commands(tmp_path):
    page = build(tmp_path / "none", tmp_path / "none2", tmp_path / "gallery")
    text = page.read_text()
    assert "No figure in" in text
    for n in figure_names():
        assert f"python -m figures {n}" in text
    assert "python -m paper_repro implicit_self_regularization --quick" in text


@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed")
def test_gallery_images_load_in_headless_chromium(tmp_path):
    names = figure_names()[:2]
    _make_figures(tmp_path / "figures", names)
    _make_repro(tmp_path)
    page = build(tmp_path / "figures", tmp_path / "paper_repro", tmp_path / "gallery")
    attrs = _body_attrs(page, tmp_path)
    assert attrs.get("data-images") == "ok", attrs
    assert attrs.get("data-num-images") == str(len(names) + 1), attrs  # + the repro's figure


@pytest.mark.skipif(_chromium() is None, reason="Chromium not installed")
def test_gallery_check_detects_a_broken_image(tmp_path):
    # the marker can fail: a corrupt PNG is reported as broken
    names = figure_names()[:1]
    _make_figures(tmp_path / "figures", names)
    (tmp_path / "figures" / "corrupt.png").write_bytes(b"not a png")
    page = build(tmp_path / "figures", tmp_path / "paper_repro", tmp_path / "gallery")
    attrs = _body_attrs(page, tmp_path)
    assert attrs.get("data-images") == "broken", attrs
    assert "corrupt.png" in attrs.get("data-broken", ""), attrs


def test_gallery_cli(tmp_path):
    from figures.gallery import main

    _make_figures(tmp_path / "figures", ["one"])
    rc = main(
        [
            "--figures",
            str(tmp_path / "figures"),
            "--repro",
            str(tmp_path / "r"),
            "--out",
            str(tmp_path / "g"),
        ]
    )
    assert rc == 0
    assert 'src="../figures/one.png"' in (tmp_path / "g" / "index.html").read_text()
