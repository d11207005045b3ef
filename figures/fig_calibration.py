"""Figure: fitted ESD exponent α against the entries' tail index µ, from sims/calibrate data.

Left: mean α (± one standard deviation over trials) per (M, Q), the limit α = µ/2 + 1, and the
straight lines α = aµ + b fitted on 2 < µ < 4. Right (when part (a) was run): the bias of the
α estimator on exact Pareto samples, with xmin known and fitted, against the exact bias of the
known-xmin MLE.

Usage::

    python -m figures.fig_calibration --quick             # reads out/sims/calibrate/quick
    python -m figures.fig_calibration                     # reads out/sims/calibrate/full
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from figures import Data

NEEDS = (Data("sims.calibrate"),)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m figures.fig_calibration", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", default=None, help="folder written by sims.calibrate")
    parser.add_argument("--quick", action="store_true", help="plot the quick-mode data")
    parser.add_argument(
        "--full", action="store_true", help="plot the full-mode data (the default without --quick)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation data")
    parser.add_argument("--out", default="out/figures", help="output folder (default out/figures)")
    parser.add_argument(
        "--name", default="calibration", help="file name stem (default calibration)"
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    data = Path(args.data) if args.data else NEEDS[0].path(quick=quick, seed=args.seed).parent
    bpath = data / "b_alpha_mu.npz"
    if not bpath.exists():
        print(
            f"no data at {bpath}: run `python -m sims.calibrate {'--quick' if quick else '--full'}`"
            " (or `python -m figures calibration`, which runs it first)",
            file=sys.stderr,
        )
        return 1

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = np.load(bpath)
    side = json.loads((data / "b_alpha_mu.json").read_text())
    fits = side.get("fits", [])
    apath = data / "a_pareto_summary.npz"
    has_a = apath.exists()
    ests = [e for e in ("ksmin", "peer") if e in set(b["est"].tolist())]
    npan = len(ests) + (1 if has_a else 0)
    fig, axes = plt.subplots(1, npan, figsize=(6.2 * npan, 5.2), squeeze=False)
    Ms = sorted(set(b["M"].tolist()))
    Qs = sorted(set(b["Q"].tolist()))
    cmap = plt.get_cmap("viridis")
    markers = {1: "o", 2: "s", 4: "^"}
    styles = {1: "-", 2: "--", 4: ":"}
    mu_all = np.unique(b["mu"])
    titles = {
        "ksmin": "α(µ), xmin by min KS (α unrestricted)",
        "peer": "α(µ), powerlaw-package convention (α < 3)",
    }
    for ie, est in enumerate(ests):
        ax = axes[0, ie]
        for iM, M in enumerate(Ms):
            color = cmap(iM / max(len(Ms) - 1, 1) * 0.85)
            for iq, Q in enumerate(Qs):
                sel = (b["est"] == est) & (b["M"] == M) & (b["Q"] == Q)
                if not sel.any():
                    continue
                order = np.argsort(b["mu"][sel])
                mu = b["mu"][sel][order] + 0.03 * (iq - (len(Qs) - 1) / 2)
                ax.errorbar(
                    mu,
                    b["mean"][sel][order],
                    yerr=b["sd"][sel][order],
                    color=color,
                    marker=markers.get(Q, "o"),
                    ms=4,
                    ls="none",
                    capsize=2,
                    alpha=0.8,
                    label=f"M={M}, Q={Q}",
                )
                for f in fits:
                    if (
                        f.get("est", "ksmin") == est
                        and f["M"] == M
                        and f["Q"] == Q
                        and f["a"] is not None
                        and np.isfinite(f["a"])
                    ):
                        x = np.linspace(2, 4, 10)
                        ax.plot(x, f["a"] * x + f["b"], color=color, ls=styles.get(Q, "-"), lw=1.2)
        x = np.linspace(min(mu_all.min(), 0.5), 2, 20)
        ax.plot(x, x / 2 + 1, color="k", lw=2, label="µ/2 + 1")
        x = np.linspace(2, mu_all.max(), 20)
        ax.plot(x, x / 2 + 1, color="k", lw=1, ls=":")
        ax.axvspan(2, 4, color="0.92", zorder=0)
        ax.set_xlabel("tail index µ of the entries")
        ax.set_ylabel("fitted ESD exponent α")
        ax.set_title(titles[est] + "\nlines: α = aµ + b fitted on 2 < µ < 4", fontsize=10)
        top = np.nanmax(b["mean"][b["est"] == est] + np.nan_to_num(b["sd"][b["est"] == est]))
        ax.set_ylim(1, min(max(4.0, top * 1.05), 12.0))
        ax.legend(fontsize=7, ncol=2)

    if has_a:
        a = np.load(apath)
        ax2 = axes[0, -1]
        ns = sorted(set(a["n"].tolist()))
        for i, n in enumerate(ns):
            color = cmap(i / max(len(ns) - 1, 1) * 0.85)
            for which, mk, ls in (("known", "o", "-"), ("fitted", "s", "--")):
                sel = (a["n"] == n) & (a["which"] == which)
                ax2.plot(
                    a["alpha"][sel],
                    a["bias"][sel],
                    marker=mk,
                    ls=ls,
                    color=color,
                    label=f"n={n}, xmin {which}",
                )
            sel = (a["n"] == n) & (a["which"] == "known")
            ax2.plot(
                a["alpha"][sel], a["exact_bias"][sel], color=color, ls="none", marker="x", ms=8
            )
        ax2.axhline(0, color="k", lw=0.8)
        ax2.set_yscale("symlog", linthresh=1e-3)
        ax2.set_xlabel("true α")
        ax2.set_ylabel("bias of α̂  (×: exact, xmin known)")
        ax2.set_title("power-law MLE on exact Pareto samples")
        ax2.legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    out = Path(args.out) / f"{args.name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    fig.savefig(out.with_suffix(".pdf"))
    plt.close(fig)
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
