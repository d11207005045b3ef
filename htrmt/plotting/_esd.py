"""ESD plots with Marchenko–Pastur and power-law overlays, and the α/D-vs-xmin robustness view.

These functions take plain eigenvalues and (optionally) fit results; they never fit anything
themselves, so every figure of the project can reuse them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["plot_esd", "plot_xmin_scan", "SCALES"]

SCALES = ("loglog", "linear")


def _axes(ax: Any):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.6))
    return ax


def _f(x: Any) -> float:
    return float(np.asarray(x))


def plot_esd(
    evals: Any,
    *,
    ax: Any = None,
    scale: str = "loglog",
    mp_fit: Any = None,
    pl_fit: Any = None,
    Q: float | None = None,
    bins: int | None = None,
    color: str = "C0",
    label: str | None = None,
    title: str | None = None,
    xlabel: str = "eigenvalue λ",
) -> Any:
    """Histogram of a spectrum, with the fitted Marchenko–Pastur bulk and/or power-law tail.

    Args:
        evals: 1-D eigenvalues.
        ax: matplotlib Axes to draw in (a new figure when None).
        scale: ``"loglog"`` (log bins, log–log axes; where a power law is a straight line) or
            ``"linear"`` (linear bins; where the MP bulk is seen).
        mp_fit: a :class:`htrmt.fit.MarchenkoPasturFit` (or anything with ``sigma``,
            ``lambda_plus``, ``Q``): its density, scaled by the bulk fraction, and λ+ (dashed),
            the spike threshold (dotted) are drawn. Its eigenvalue units must be those of ``evals``.
        pl_fit: a :class:`htrmt.fit.PowerLawFit` (``alpha``, ``xmin``, ``xmax``, ``num_tail``):
            the fitted density ``∝ λ^-α`` over the tail, scaled by the tail fraction, and xmin
            (vertical red line).
        Q: aspect ratio for the MP density when ``mp_fit`` has no ``Q``.
        bins: number of bins (default ``clip(√n, 20, 100)``).
        color: histogram colour. label: legend label of the histogram. title: axes title.
        xlabel: x-axis label.

    Returns:
        The matplotlib Axes.

    Raises:
        ValueError: ``scale`` not in ``("loglog", "linear")``, an empty spectrum, no positive
            eigenvalue for log–log axes.

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.pareto(jax.random.key(0), (400, 200), mu=2.5))
        >>> ax = ht.plotting.plot_esd(lam, pl_fit=ht.fit.powerlaw(lam))
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {list(SCALES)}, got scale={scale!r}")
    x = np.sort(np.asarray(evals, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("evals is empty")
    n = x.size
    nb = bins or int(np.clip(math.sqrt(n), 20, 100))
    ax = _axes(ax)
    if scale == "loglog":
        pos = x[x > 0]
        if pos.size == 0:
            raise ValueError("evals has no positive values to draw on log-log axes")
        lo, hi = pos[0], pos[-1]
        if hi <= lo:
            hi = lo * 1.01
        edges = np.geomspace(lo, hi, nb + 1)
    else:
        lo, hi = x[0], x[-1]
        if hi <= lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = np.linspace(lo, hi, nb + 1)
    counts, _ = np.histogram(x, bins=edges)
    dens = counts / (n * np.diff(edges))
    ax.stairs(
        dens, edges, fill=True, alpha=0.45, color=color, label=label or f"ESD ({n} eigenvalues)"
    )
    if scale == "loglog":
        ax.set_xscale("log")
        ax.set_yscale("log")

    if mp_fit is not None:
        from ..laws import marchenko_pastur as mp_law

        q = float(getattr(mp_fit, "Q", None) or (Q if Q is not None else 1.0))
        sig = _f(mp_fit.sigma)
        lp = _f(mp_fit.lambda_plus)
        lm = sig**2 * (1 - 1 / math.sqrt(q)) ** 2
        grid = np.linspace(max(lm, 1e-12 * lp), lp, 400)[1:-1]
        frac = float(getattr(mp_fit, "num_bulk", n)) / n
        y = np.asarray(mp_law.pdf(grid, q, sig), dtype=np.float64) * frac
        ax.plot(grid, y, color="k", lw=1.4, label=f"MP fit σ={sig:.3g}")
        ax.axvline(lp, color="k", ls="--", lw=1, label=f"λ+ = {lp:.3g}")
        thr = getattr(mp_fit, "threshold", None)
        if thr is not None and _f(thr) > lp and _f(thr) < x[-1] * 1.05:
            ax.axvline(_f(thr), color="k", ls=":", lw=1, label="spike threshold")
        nspk = int(getattr(mp_fit, "num_spikes", 0))
        if nspk:
            ax.plot(
                x[-nspk:], np.zeros(nspk), "|", color="C3", ms=14, mew=1.5, label=f"{nspk} spike(s)"
            )

    if pl_fit is not None and bool(np.all(np.asarray(getattr(pl_fit, "status", 0)) == 0)):
        alpha = _f(pl_fit.alpha)
        xmin = _f(pl_fit.xmin)
        xmax_f = _f(getattr(pl_fit, "xmax", np.inf))
        xmax = x[-1] if not math.isfinite(xmax_f) else xmax_f
        ntail = int(np.asarray(getattr(pl_fit, "num_tail", np.sum(x >= xmin))))
        if xmax > xmin and alpha > 1:
            grid = np.geomspace(xmin, xmax, 100)
            # normalised power law on [xmin, ∞) (or the truncated one), times the tail fraction
            norm = (alpha - 1) / xmin
            if math.isfinite(xmax_f):
                norm /= 1 - (xmax_f / xmin) ** (1 - alpha)
            y = norm * (grid / xmin) ** (-alpha) * ntail / n
            ax.plot(grid, y, color="C3", lw=1.6, label=f"PL fit α={alpha:.2f}")
        ax.axvline(xmin, color="C3", lw=1, ls="-.", label=f"xmin = {xmin:.3g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    return ax


def plot_xmin_scan(
    evals: Any,
    *,
    ax: Any = None,
    pl_fit: Any = None,
    min_tail: int = 3,
    ks: str = "two_sided",
    num_xmin: int | None = 400,
    title: str | None = None,
) -> Any:
    """α and the KS distance D against the candidate xmin: how robust is a power-law fit?

    A flat α around the chosen xmin (where D is smallest) means a stable fit; α drifting fast
    with xmin, or several near-equal minima of D, mean the reported α depends on a fragile
    choice. The scan is :func:`htrmt.fit.powerlaw_scan`; ±σ bands are shaded.

    Args:
        evals: 1-D eigenvalues.
        ax: Axes (α on the left axis, D on a twin right axis); a new figure when None.
        pl_fit: the chosen fit, marked by a vertical line at its xmin.
        min_tail, ks: passed to the scan (use those of the fit).
        num_xmin: candidates scanned (evenly spaced in rank); None scans all.
        title: axes title.

    Returns:
        The Axes of α (the D axis is ``ax.right_ax``-like twin, returned as ``ax._twin_d``).

    Example:
        >>> import jax, htrmt as ht
        >>> lam = ht.esd(ht.ensembles.pareto(jax.random.key(0), (400, 200), mu=2.5))
        >>> ax = ht.plotting.plot_xmin_scan(lam)
    """
    from ..fit import powerlaw_scan

    x = np.asarray(evals, dtype=np.float64).ravel()
    ax = _axes(ax)
    nx = None if num_xmin is None else min(int(num_xmin), int(np.sum(x > 0)))
    scan = powerlaw_scan(x, ks=ks, min_tail=min_tail, num_xmin=nx)
    ok = np.asarray(scan.valid)
    xm = np.asarray(scan.xmin)[ok]
    a = np.asarray(scan.alpha)[ok]
    s = np.asarray(scan.sigma)[ok]
    D = np.asarray(scan.D)[ok]
    ax.plot(xm, a, color="C0", lw=1.3, label="α(xmin)")
    ax.fill_between(xm, a - s, a + s, color="C0", alpha=0.2, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("xmin")
    ax.set_ylabel("α", color="C0")
    if a.size:
        top = float(np.nanpercentile(a, 95))
        ax.set_ylim(max(1.0, float(np.nanmin(a)) - 0.2), max(top, 2.0) + 0.5)
    ax2 = ax.twinx()
    ax2.plot(xm, D, color="C1", lw=1.0, label="D(xmin)")
    ax2.set_ylabel("KS distance D", color="C1")
    if pl_fit is not None:
        ax.axvline(
            _f(pl_fit.xmin),
            color="C3",
            ls="-.",
            lw=1,
            label=f"chosen xmin (α={_f(pl_fit.alpha):.2f})",
        )
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    if title:
        ax.set_title(title, fontsize=9)
    ax._twin_d = ax2
    return ax
