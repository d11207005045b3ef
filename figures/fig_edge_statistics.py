"""Figure: edge statistics of λ_max — Tracy–Widom fluctuations, crispness, Fréchet edges.

Plots only from ``out/sims/edge_study/edge_study.{npz,json}`` (``--quick``: the quick data set in
``out/sims/edge_study/quick/``); ``python -m figures`` runs ``sims.edge_study`` first when they
are missing.
Writes ``out/figures/edge_statistics.png`` and ``.pdf``.

Usage:
    python -m figures.fig_edge_statistics [--data out/sims/edge_study] [--out out/figures]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from figures import Data

NEEDS = (Data("sims.edge_study"),)


def _tw_pdf(beta: int):
    import htrmt as ht

    tw = getattr(ht.laws, "tracy_widom", None)
    if tw is None:
        return None
    return lambda s: np.asarray(tw.pdf(np.asarray(s, dtype=np.float64), beta=beta))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=None, help="simulation output (default: the study's)")
    p.add_argument("--out", default="out/figures")
    p.add_argument("--quick", action="store_true", help="plot the quick (small) data set")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulation data")
    args = p.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data_dir = Path(args.data) if args.data else NEEDS[0].path(quick=args.quick).parent
    if not (data_dir / "edge_study.npz").exists():
        print(
            f"no data at {data_dir / 'edge_study.npz'}: run `python -m sims.edge_study"
            f"{' --quick' if args.quick else ''}` (or `python -m figures edge_statistics`)",
            file=sys.stderr,
        )
        return 1
    d = np.load(data_dir / "edge_study.npz")
    meta = json.loads((data_dir / "edge_study.json").read_text())
    Ms = meta["tw_Ms"]
    second = {1: "ma", 2: "el_karoui"}
    label = {"johnstone": "Johnstone/Johansson", "ma": "Ma", "el_karoui": "El Karoui"}

    fig, axes = plt.subplots(2, 2, figsize=(11, 8.5))
    s = np.linspace(-6, 4, 400)
    colors = plt.cm.viridis(np.linspace(0.1, 0.85, len(Ms)))

    # (a), (b): TW1 and TW2
    for ax, beta in zip(axes[0], (1, 2), strict=True):
        pdf = _tw_pdf(beta)
        bins = np.linspace(-6, 4, 61)
        for M, c in zip(Ms, colors, strict=True):
            z = d[f"tw_b{beta}_M{M}_{second[beta]}"]
            ks = meta["tw"][f"b{beta}_M{M}_{second[beta]}"]["ks"]
            ksj = meta["tw"][f"b{beta}_M{M}_johnstone"]["ks"]
            lab = f"M={M}"
            if ks is not None:
                lab += f"  KS {ks:.3f} ({label[second[beta]]}) / {ksj:.3f} (first order)"
            ax.hist(z, bins=bins, density=True, histtype="step", color=c, lw=1.4, label=lab)
        if pdf is not None:
            ax.plot(s, pdf(s), "k-", lw=2, label=f"TW{beta}")
        ax.set_xlabel(f"(λ_max − centre)/scale  [{label[second[beta]]}]")
        ax.set_ylabel("density")
        ax.set_title(f"({'ab'[beta - 1]}) β={beta}, Q={meta['Q']}: λ_max vs TW{beta}")
        ax.legend(fontsize=7, loc="upper right", framealpha=0.85)
        ax.set_xlim(-6, 4)
        ax.set_ylim(0, 1.45 * ax.get_ylim()[1])  # room for the legend

    # (c): crispness
    ax = axes[1, 0]
    cm = meta["crispness"]
    M = d["crisp_M"]
    gap = np.abs(d["crisp_mean"] - cm["lambda_plus"])
    ax.errorbar(M, gap, yerr=d["crisp_sem"], fmt="o", color="C0", label="|E λ_max − λ+| (β=1)")
    ax.plot(
        M, np.exp(cm["intercept"]) * M ** cm["slope"], "C0-", label=f"fit: slope {cm['slope']:.3f}"
    )
    ax.plot(M, gap[0] * (M / M[0]) ** (-2 / 3), "k--", lw=1, label="slope −2/3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("M  (N = Q·M)")
    ax.set_ylabel("|E λ_max − λ+|")
    ax.set_title("(c) edge crispness")
    ax.legend(fontsize=8)

    # (d): Fréchet exponent
    ax = axes[1, 1]
    N = d["ht_N"]
    for j, mu in enumerate(meta["mus"]):
        f = meta["frechet"][str(mu)]
        med = d[f"ht_mu{mu}_median"]
        c = f"C{j}"
        ax.plot(
            N,
            med,
            "o-",
            color=c,
            label=f"µ={mu}: slope {f['slope']:.2f} (theory {f['expected_slope']:.2f})",
        )
        if mu < 4:
            ax.plot(N, d[f"ht_mu{mu}_frechet_median"], ":", color=c, lw=1.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N = M")
    ax.set_ylabel("median λ_max")
    ax.set_title("(d) Pareto entries: Fréchet edge (dotted: Fréchet median)")
    ax.legend(fontsize=8)

    fig.suptitle("Largest-eigenvalue statistics of WᵀW/N", fontsize=13)
    fig.tight_layout()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for ext in ("png", "pdf"):
        fig.savefig(out / f"edge_statistics.{ext}", dpi=130)
    plt.close(fig)
    print(f"wrote {out}/edge_statistics.png and .pdf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
