"""Figures of an analysis report: per-layer panels, the model overview, training monitor, HTML."""

from __future__ import annotations

import base64
import html
import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..ensembles._phases import PHASES  # the one definition of the 5+1 names
from ._esd import plot_esd, plot_xmin_scan

__all__ = [
    "plot_layer",
    "plot_overview",
    "plot_monitor",
    "save_plots",
    "html_report",
    "PHASE_COLORS",
]

PHASE_COLORS = {
    "random-like": "#4c72b0",
    "bleeding-out": "#64b5cd",
    "bulk+spikes": "#55a868",
    "bulk-decay": "#ccb974",
    "heavy-tailed": "#c44e52",
    "rank-collapse": "#8172b2",
    "": "#999999",
}


def _plt():
    import matplotlib

    if not os.environ.get("MPLBACKEND") and matplotlib.get_backend().lower() not in ("agg",):
        try:
            matplotlib.use("Agg")
        except Exception:  # pragma: no cover
            pass
    import matplotlib.pyplot as plt

    return plt


def _units(report: Any) -> str:
    return "WᵀW/N" if report.normalization == "N" else "WᵀW"


def plot_layer(report: Any, name: str, *, fig: Any = None) -> Any:
    """Three panels for one layer: log–log ESD with the PL fit and xmin, linear ESD with the MP
    fit (eigenvalues of ``WᵀW/N``, where the MP law lives), α and D against xmin.

    Args:
        report: an :class:`htrmt.networks.AnalysisReport`.
        name: the layer name.
        fig: a matplotlib Figure to draw into (a new one when None).

    Returns:
        The Figure.
    """
    plt = _plt()
    row = report[name]
    ev = report.esds[name]
    fits = report.fits.get(name, {})
    if fig is None:
        fig = plt.figure(figsize=(13, 3.6))
    axs = fig.subplots(1, 3)
    pl = fits.get("pl")
    mp = fits.get("mp")
    plot_esd(
        ev,
        ax=axs[0],
        scale="loglog",
        pl_fit=pl,
        title=f"{name}: log-log ESD, α={row.alpha:.2f}, D={row.D:.3f}",
        xlabel=f"eigenvalue of {_units(report)}",
    )
    ev_n = ev / row.N if report.normalization == "none" else ev
    plot_esd(
        ev_n,
        ax=axs[1],
        scale="linear",
        mp_fit=mp,
        color="C2",
        title=f"linear ESD, MP σ={row.sigma_mp:.3g}, {row.num_spikes} spikes, {row.phase}",
        xlabel="eigenvalue of WᵀW/N",
    )
    if pl is not None and row.num_evals >= 4:
        try:
            plot_xmin_scan(
                ev,
                ax=axs[2],
                pl_fit=pl,
                min_tail=2 if report.conventions == "weightwatcher" else 3,
                ks="powerlaw" if report.conventions == "weightwatcher" else "two_sided",
                title="robustness: α and D against xmin",
            )
        except ValueError as err:
            axs[2].text(
                0.5,
                0.5,
                f"no scan: {err}",
                ha="center",
                va="center",
                fontsize=8,
                transform=axs[2].transAxes,
                wrap=True,
            )
    else:
        axs[2].text(
            0.5,
            0.5,
            f"no power-law fit\n({row.status})",
            ha="center",
            va="center",
            transform=axs[2].transAxes,
        )
        axs[2].set_axis_off()
    fig.suptitle(
        f"{name}  [{row.kind}, N={row.N}, M={row.M}, Q={row.Q:.2f}, slices={row.num_slices}]"
        + (f"  fingers: {row.num_fingers} (p={row.fingers_pvalue:.2g})" if row.num_fingers else ""),
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def plot_overview(report: Any, *, fig: Any = None) -> Any:
    """One page for the whole model: α per layer (with σ or bootstrap bars, fingers marked),
    phase per layer, the KS distance D, and log λ_max; the title carries α̂ and mean α."""
    plt = _plt()
    rows = report.layers
    n = len(rows)
    if fig is None:
        fig = plt.figure(figsize=(max(8, 0.35 * n + 4), 7.5))
    axs = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2, 2]})
    idx = np.arange(n)
    alpha = np.array([r.alpha if r.status == "ok" else np.nan for r in rows])
    err = np.array([r.alpha_err if math.isfinite(r.alpha_err) else r.sigma for r in rows])
    colors = [PHASE_COLORS.get(r.phase, "#999999") for r in rows]
    axs[0].errorbar(
        idx, alpha, yerr=np.where(np.isfinite(err), err, 0), fmt="none", ecolor="0.4", lw=1
    )
    axs[0].scatter(idx, alpha, c=colors, s=36, zorder=3, edgecolor="k", lw=0.4)
    fing = [i for i, r in enumerate(rows) if r.num_fingers]
    if fing:
        axs[0].scatter(
            idx[fing],
            alpha[fing],
            marker="x",
            color="k",
            s=60,
            zorder=4,
            label="fingers (top eigenvalues are outliers)",
        )
        nf = np.array([rows[i].alpha_no_fingers for i in fing])
        axs[0].scatter(
            idx[fing], nf, marker="v", color="k", s=25, zorder=4, label="α without the fingers"
        )
    axs[0].axhspan(2, 6, color="0.9", zorder=0, label="2 < α < 6 (typical of trained layers)")
    axs[0].axhline(2, color="0.6", lw=0.8)
    failed = [i for i, r in enumerate(rows) if r.status != "ok"]
    for i in failed:
        axs[0].annotate(
            rows[i].status, (i, 2), rotation=90, fontsize=7, ha="center", va="bottom", color="C3"
        )
    axs[0].set_ylabel("α (PL exponent)")
    top = np.nanmax(alpha) if np.any(np.isfinite(alpha)) else 6
    axs[0].set_ylim(1, min(max(top + 0.5, 6.5), 15))
    axs[0].legend(fontsize=7, loc="upper right")
    s = report.summary
    axs[0].set_title(
        f"α̂ (mean α·log10 λmax) = {s.alpha_weighted:.3f}   mean α = {s.alpha:.3f}   "
        f"{s.num_ok}/{s.num_layers} layers fitted   ({report.framework}, "
        f"normalization={report.normalization!r}, conventions={report.conventions})",
        fontsize=9,
    )
    # phases as a coloured strip
    ph_idx = {p: k for k, p in enumerate(PHASES)}
    y = [ph_idx.get(r.phase, -1) for r in rows]
    axs[1].scatter(idx, y, c=colors, marker="s", s=60)
    axs[1].set_yticks(range(len(PHASES)))
    axs[1].set_yticklabels(PHASES, fontsize=7)
    axs[1].set_ylim(-1.5, len(PHASES) - 0.5)
    axs[1].set_ylabel("phase", fontsize=8)
    D = np.array([r.D for r in rows])
    lsn = np.array([r.log_spectral_norm for r in rows])
    axs[2].bar(idx - 0.2, D, width=0.4, color="C1", label="KS distance D")
    axs[2].set_ylabel("D", color="C1")
    ax2 = axs[2].twinx()
    ax2.plot(idx, lsn, "o-", color="C4", ms=3, lw=1, label="log10 λmax")
    ax2.set_ylabel("log10 λmax", color="C4")
    axs[2].set_xticks(idx)
    axs[2].set_xticklabels([r.name for r in rows], rotation=75, ha="right", fontsize=7)
    fig.tight_layout()
    return fig


def plot_monitor(monitor: Any, *, fig: Any = None, max_layers: int = 12) -> Any:
    """α per layer, α̂, matrix entropy per layer and phase per layer over training steps.

    Args:
        monitor: an :class:`htrmt.networks.Monitor` with at least one record.
        fig: a Figure to draw into (new when None).
        max_layers: layers shown in the per-layer panels (the first ones).
    """
    plt = _plt()
    if not monitor.steps:
        raise ValueError("monitor has no records; call monitor.record(step, model) first")
    if fig is None:
        fig = plt.figure(figsize=(12, 7))
    axs = fig.subplots(2, 2)
    steps, alpha = monitor.series("alpha")
    _, ent = monitor.series("entropy")
    _, phase = monitor.series("phase")
    names = monitor.layer_names[:max_layers]
    for k, name in enumerate(names):
        axs[0, 0].plot(steps, alpha[name], "o-", ms=3, lw=1, color=f"C{k % 10}", label=name)
        axs[1, 0].plot(steps, ent[name], "o-", ms=3, lw=1, color=f"C{k % 10}", label=name)
    axs[0, 0].set_ylabel("α")
    axs[0, 0].set_title("power-law exponent per layer", fontsize=9)
    axs[0, 0].legend(fontsize=6)
    axs[1, 0].set_ylabel("matrix entropy")
    axs[1, 0].set_xlabel("step")
    st, ah = monitor.summary_series("alpha_weighted")
    _, am = monitor.summary_series("alpha")
    axs[0, 1].plot(st, ah, "o-", color="k", label="α̂ (mean α·log10 λmax)")
    axs[0, 1].plot(st, am, "s--", color="0.5", label="mean α")
    axs[0, 1].legend(fontsize=7)
    axs[0, 1].set_title("model-level metrics", fontsize=9)
    ph_idx = {p: i for i, p in enumerate(PHASES)}
    grid = np.full((len(names), len(steps)), np.nan)
    for k, name in enumerate(names):
        for j, p in enumerate(phase[name]):
            grid[k, j] = ph_idx.get(p, np.nan)
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap([PHASE_COLORS[p] for p in PHASES])
    axs[1, 1].imshow(
        grid, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(PHASES) - 0.5, interpolation="nearest"
    )
    axs[1, 1].set_yticks(range(len(names)))
    axs[1, 1].set_yticklabels(names, fontsize=6)
    axs[1, 1].set_xticks(range(len(steps)))
    axs[1, 1].set_xticklabels(steps, fontsize=6)
    axs[1, 1].set_xlabel("step")
    axs[1, 1].set_title("phase per layer", fontsize=9)
    from matplotlib.patches import Patch

    axs[1, 1].legend(
        handles=[Patch(color=PHASE_COLORS[p], label=p) for p in PHASES],
        fontsize=6,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    fig.tight_layout()
    return fig


def _png(fig: Any, dpi: int = 90) -> bytes:
    plt = _plt()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def save_plots(
    report: Any, directory: str | os.PathLike, *, dpi: int = 90, layers: list[str] | None = None
) -> list[Path]:
    """Write ``overview.png`` and one ``layer_<k>_<name>.png`` per layer into ``directory``.

    Each file is written whole (temporary name, then renamed). Returns the paths written.
    """
    from ..networks._report import write_atomic

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = [write_atomic(d / "overview.png", _png(plot_overview(report), dpi))]
    names = layers or [r.name for r in report.layers]
    for k, name in enumerate(names):
        out.append(
            write_atomic(
                d / f"layer_{k:03d}_{_safe(name)}.png", _png(plot_layer(report, name), dpi)
            )
        )
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#eee} td.l{text-align:left} tr.bad td{color:#a00} img{max-width:100%}
.card{margin:1.2em 0;padding:.5em;border:1px solid #ddd;border-radius:6px}
.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
.scroll{overflow-x:auto} td.l{white-space:nowrap;text-align:left}
td.w{text-align:left;min-width:24em;font-size:11px}
"""


def html_report(
    report: Any,
    path: str | os.PathLike | None = None,
    *,
    title: str = "htrmt analysis",
    max_layers: int | None = None,
    dpi: int = 80,
    progress: bool = False,
) -> str:
    """A self-contained HTML report: summary, the layer table, the overview figure and the three
    panels of every layer, images embedded as base64 PNG (one file, no external resources).

    Args:
        report: an :class:`htrmt.networks.AnalysisReport`.
        path: where to write it (written whole through a temporary file); None: only return it.
        title: page title.
        max_layers: draw panels for at most this many layers (all by default).
        dpi: resolution of the embedded figures.
        progress: show a progress bar while drawing the layers.

    Returns:
        The HTML text.
    """
    from ..networks._report import COLUMNS, write_atomic

    def img(fig: Any) -> str:
        b64 = base64.b64encode(_png(fig, dpi)).decode("ascii")
        return f'<img alt="figure" src="data:image/png;base64,{b64}">'

    s = report.summary
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        "<p>",
        f"Weights from <b>{esc(report.framework)}</b>; eigenvalues of <b>{esc(_units(report))}</b> "
        f"(normalization={esc(repr(report.normalization))}, "
        f"conventions={esc(report.conventions)}). "
        f"<b>{s.num_ok}</b> of {s.num_layers} layers fitted; "
        f"α̂ (mean α·log10 λmax) = <b id='alpha-hat'>{s.alpha_weighted:.4f}</b>, "
        f"mean α = <b>{s.alpha:.4f}</b>, mean log10 λmax = {s.log_spectral_norm:.4f}, "
        f"mean entropy = {s.entropy:.4f}. Layers with fingers: {s.num_fingers}. ",
        "Phases: "
        + ", ".join(
            f"<span class='sw' style='background:{PHASE_COLORS.get(p, '#999')}'></span>"
            f"{esc(p)}: {c}"
            for p, c in sorted(s.phases.items())
        ),
        "</p>",
        "<h2>Overview</h2>",
        img(plot_overview(report)),
        "<h2>Layers</h2><div class='scroll'><table id='layers'><tr>"
        + "".join(f"<th>{esc(c)}</th>" for c in COLUMNS)
        + "</tr>",
    ]
    for r in report.layers:
        cells = []
        for c in COLUMNS:
            v = getattr(r, c)
            if isinstance(v, float):
                t = "" if not math.isfinite(v) else f"{v:.4g}"
                cells.append(f"<td>{t}</td>")
            else:
                cl = "w" if c == "warning" else "l"
                cells.append(f"<td class='{cl}'>{esc(str(v))}</td>")
        cls = " class='bad'" if r.status != "ok" else ""
        parts.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    parts.append("</table></div>")
    if report.skipped:
        parts.append(f"<details><summary>{len(report.skipped)} parameters skipped</summary><ul>")
        for sk in report.skipped:
            parts.append(f"<li>{esc(sk.name)} {list(sk.shape)}: {esc(sk.reason)}</li>")
        parts.append("</ul></details>")
    parts.append("<h2>Per-layer spectra</h2>")
    names = [r.name for r in report.layers]
    if max_layers is not None:
        names = names[:max_layers]
    it: Any = names
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(names, desc="plots", unit="layer", leave=False)
    for name in it:
        parts.append(f"<div class='card'><h3>{esc(name)}</h3>{img(plot_layer(report, name))}</div>")
    parts.append("</body></html>")
    text = "\n".join(parts)
    if path is not None:
        write_atomic(path, text)
    return text
