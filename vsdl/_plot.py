"""Plot a load–temperature phase diagram: simulated ε as a heat map, theory lines on top."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["plot_diagram"]

_LINE_STYLE = {
    "transition": dict(color="white", lw=2.2, ls="-", label="first-order transition (theory)"),
    "spinodal": dict(color="white", lw=1.6, ls="--", label="spinodal of the poor state (theory)"),
    "crossover": dict(color="white", lw=2.0, ls=":", label="ε = good_error (theory)"),
    "glass": dict(
        color="cyan", lw=2.0, ls="-.", label="glass line τ_K(α): frozen 1RSB (entropy crisis)"
    ),
    "quenched_tau0": dict(
        color="orange",
        marker="*",
        ms=14,
        ls="none",
        clip_on=False,
        label="quenched RS transition at τ = 0",
    ),
}


def _edges(x: np.ndarray) -> np.ndarray:
    if x.size == 1:
        return np.array([x[0] - 0.5, x[0] + 0.5]) if x[0] != 0 else np.array([-0.05, 0.05])
    mid = 0.5 * (x[1:] + x[:-1])
    return np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])


_REGION_LABEL = {
    "poor": "poor",
    "good": "good",
    "perfect": "perfect",
    "coexistence": "coexistence",
    "spin_glass": "glass",
}


def _label_regions(ax: Any, d: Any) -> None:
    """Write each theory phase's name on the grid cell nearest the centre of its cells."""
    from ._diagram import PHASES

    A, T = np.meshgrid(d.alpha, d.tau)
    span_a = max(float(np.ptp(d.alpha)), 1e-12)
    span_t = max(float(np.ptp(d.tau)), 1e-12)
    for k, name in enumerate(PHASES):
        sel = np.asarray(d.phase) == k
        if not sel.any():
            continue
        ca, ct = A[sel].mean(), T[sel].mean()
        dist = ((A[sel] - ca) / span_a) ** 2 + ((T[sel] - ct) / span_t) ** 2
        j = int(np.argmin(dist))
        ax.text(
            A[sel][j],
            T[sel][j],
            _REGION_LABEL.get(name, name),
            ha="center",
            va="center",
            fontsize=8,
            color="black",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.75),
            zorder=5,
        )


def plot_diagram(
    diagram: Any, ax: Any = None, *, theory_contours: bool = False, labels: bool = True
):
    """Draw a :class:`vsdl.PhaseDiagram`.

    The heat map is the simulated ε when the diagram holds a simulation (points that did not
    equilibrate are crossed out), else the theory's ε. Theory lines: the first-order transition
    (solid), the spinodal of the metastable poor state (dashed), the good-generalization
    crossover (dotted), the quenched τ = 0 transition (star); optional thin grey contours
    separate the theory's phases on the diagram's grid. With ``labels`` each theory phase
    (poor, good, perfect, coexistence, glass) is named on one of its grid cells; the glass line
    (dash-dotted) is the freezing temperature of the frozen one-step RSB glass.

    Args:
        diagram: a :class:`vsdl.PhaseDiagram`.
        ax: a matplotlib Axes (a new figure when None).
        theory_contours: draw the theory's phase boundaries as thin contours.
        labels: name the theory's phase regions.

    Returns:
        The matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 5.0), constrained_layout=True)
    d = diagram
    sim = d.simulation
    eps = np.asarray(sim.epsilon) if sim is not None else d.epsilon
    mesh = ax.pcolormesh(
        _edges(d.alpha), _edges(d.tau), eps, cmap="viridis", vmin=0.0, vmax=0.5, shading="flat"
    )
    cb = ax.figure.colorbar(mesh, ax=ax)
    what = f"Monte Carlo, N = {sim.n}" if sim is not None else "theory"
    cb.set_label(f"generalization error ε ({what})")
    if sim is not None:
        bad = ~np.asarray(sim.equilibrated)
        if bad.any():
            A, T = np.meshgrid(d.alpha, d.tau)
            ax.scatter(
                A[bad],
                T[bad],
                marker="x",
                s=18,
                c="red",
                lw=1.0,
                label="Monte Carlo not equilibrated",
            )
    if theory_contours and d.tau.size > 1 and d.alpha.size > 1:
        ax.contour(
            d.alpha, d.tau, d.phase, levels=np.arange(0.5, 5.0), colors="0.7", linewidths=0.6
        )
    for name, (tl, al) in d.lines.items():
        al = np.asarray(al, float)
        tl = np.asarray(tl, float)
        st = dict(_LINE_STYLE.get(name, dict(color="white", lw=1.5, label=name)))
        ok = np.isfinite(al)
        if ok.sum() >= 2:
            ax.plot(al[ok], tl[ok], **st)
        elif ok.sum() == 1:
            st.setdefault("marker", "o")
            st["ls"] = "none"
            ax.plot(al[ok], tl[ok], **st)
    if labels:
        _label_regions(ax, d)
    ax.set_xlim(_edges(d.alpha)[0], _edges(d.alpha)[-1])
    ax.set_ylim(min(0.0, _edges(d.tau)[0]), _edges(d.tau)[-1])
    ax.set_xlabel("load α = P / N")
    ax.set_ylabel("temperature τ")
    ax.set_title(f"VSDL phase diagram: {d.model} perceptron, {d.theory.replace('_', '-')} theory")
    leg = ax.legend(loc="upper left", fontsize=8, framealpha=0.6)
    leg.get_frame().set_facecolor("0.3")
    for text in leg.get_texts():
        text.set_color("white")
    return ax
