"""ESD plots with MP/PL overlays, the xmin robustness plot, report figures and the HTML report."""

import base64
import os
import re
import shutil
import subprocess

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import htrmt as ht  # noqa: E402

SHAPE = (500, 250)


@pytest.fixture(scope="module")
def report():
    k1, k2 = jax.random.split(jax.random.key(5))
    layers = {
        "gauss.weight": np.asarray(ht.ensembles.gaussian(k1, SHAPE, dtype=jnp.float64)),
        "pareto.weight": np.asarray(ht.ensembles.pareto(k2, SHAPE, mu=1.5, dtype=jnp.float64)),
        "tiny.weight": np.ones((4, 3)) + np.eye(4, 3),
    }
    return ht.analyze(layers)


def test_plot_esd_loglog_with_powerlaw_fit(report):
    ev = report.esds["pareto.weight"]
    pl = report.fits["pareto.weight"]["pl"]
    ax = ht.plotting.plot_esd(ev, pl_fit=pl)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("PL fit α=") for lab in labels)
    assert any(lab.startswith("xmin") for lab in labels)
    # the xmin line sits at the fitted xmin
    xs = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_label().startswith("xmin")]
    assert xs == [pytest.approx(float(pl.xmin))]
    # the PL line has slope -alpha on log-log axes
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("PL fit")]
    x, y = line.get_xdata(), line.get_ydata()
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]
    assert slope == pytest.approx(-float(pl.alpha), rel=1e-9)
    plt.close("all")


def test_plot_esd_linear_with_mp_fit(report):
    ev = report.esds["gauss.weight"]
    mp = report.fits["gauss.weight"]["mp"]
    ax = ht.plotting.plot_esd(ev, scale="linear", mp_fit=mp)
    assert ax.get_xscale() == "linear"
    (curve,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("MP fit")]
    x, y = curve.get_xdata(), curve.get_ydata()
    # the drawn curve integrates to the bulk fraction (MP density integrates to 1)
    area = np.trapezoid(y, x)
    assert area == pytest.approx(mp.num_bulk / ev.size, abs=0.03)
    lp = [ln.get_xdata()[0] for ln in ax.get_lines() if ln.get_label().startswith("λ+")]
    assert lp == [pytest.approx(float(mp.lambda_plus))]
    plt.close("all")


def test_plot_esd_bad_input():
    with pytest.raises(ValueError, match="scale"):
        ht.plotting.plot_esd(np.ones(5), scale="semilog")
    with pytest.raises(ValueError, match="empty"):
        ht.plotting.plot_esd(np.array([]))
    with pytest.raises(ValueError, match="no positive"):
        ht.plotting.plot_esd(-np.ones(4))


def test_xmin_scan_marks_the_chosen_fit(report):
    ev = report.esds["pareto.weight"]
    pl = report.fits["pareto.weight"]["pl"]
    ax = ht.plotting.plot_xmin_scan(ev, pl_fit=pl, min_tail=10, num_xmin=None)
    (a_line,) = [ln for ln in ax.get_lines() if ln.get_label() == "α(xmin)"]
    (d_line,) = [ln for ln in ax._twin_d.get_lines() if ln.get_label() == "D(xmin)"]
    xm, D = d_line.get_xdata(), d_line.get_ydata()
    # the fit's xmin is where the drawn D is smallest, and α there is the fitted α
    assert xm[np.argmin(D)] == pytest.approx(float(pl.xmin))
    assert a_line.get_ydata()[np.argmin(D)] == pytest.approx(float(pl.alpha))
    plt.close("all")


def test_layer_and_overview_figures(report, tmp_path):
    fig = ht.plotting.plot_layer(report, "pareto.weight")
    assert len(fig.axes) >= 3
    fig = ht.plotting.plot_overview(report)
    assert "α̂" in fig.axes[0].get_title()
    plt.close("all")
    paths = ht.plotting.save_plots(report, tmp_path / "plots")
    names = sorted(p.name for p in paths)
    assert names[0] == "layer_000_gauss.weight.png" and "overview.png" in names
    assert len(names) == 1 + len(report.layers)
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert not list((tmp_path / "plots").glob("*.part"))


def test_html_report_is_self_contained(report, tmp_path):
    path = tmp_path / "report.html"
    text = ht.plotting.html_report(report, path, title="test report")
    assert path.read_text() == text
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(imgs) == 1 + len(report.layers)
    assert all(base64.b64decode(b)[:4] == b"\x89PNG" for b in imgs)
    # nothing is fetched from elsewhere
    assert not re.search(r'(src|href)="(http|//|file:)', text)
    assert "pareto.weight" in text and "too-small" in text


def _chromium():
    for c in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(c)
        if p:
            return p
    return None


def test_html_report_renders_in_headless_chromium(report, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("no Chromium on this machine")
    path = tmp_path / "report.html"
    ht.plotting.html_report(report, path, max_layers=1)
    shot = tmp_path / "shot.png"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        "--window-size=1200,900",
        path.as_uri(),
    ]
    res = subprocess.run(
        cmd, capture_output=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)}
    )
    assert shot.exists(), res.stderr.decode()[-2000:]
    img = plt.imread(shot)
    assert img.shape[0] == 900 and img.shape[1] == 1200
    # the page is not blank: text and figures give many distinct colours
    assert np.unique(img.reshape(-1, img.shape[-1])[:, :3], axis=0).shape[0] > 50
    plt.close("all")


def test_plot_monitor():
    mon = ht.networks.Monitor()
    rng = np.random.default_rng(0)
    for step in range(3):
        mon.record(step, {"w.weight": rng.standard_normal(SHAPE) * (1 + step)})
    fig = ht.plotting.plot_monitor(mon)
    assert len(fig.axes) >= 4
    plt.close("all")
    with pytest.raises(ValueError, match="no records"):
        ht.plotting.plot_monitor(ht.networks.Monitor())
