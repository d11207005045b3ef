"""Slide 6: Marchenko–Pastur densities for varying Q and varying σ, with finite-N histograms."""

from __future__ import annotations

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "mp_densities"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import load

    d = load("mp_densities", quick=args.quick, seed=args.seed)
    MP = ht.laws.marchenko_pastur
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    M = d["Q0"].size
    for i, Q in enumerate(d["Qs"]):
        lam = d[f"Q{i}"]
        lo, hi = (float(v) for v in MP.edges(float(Q)))
        x = np.linspace(max(lo, 1e-3), hi, 500)
        axes[0].hist(lam, bins=np.linspace(0, 4.1, 90), density=True, alpha=0.3, color=f"C{i}")
        axes[0].plot(x, np.asarray(MP.pdf(x, float(Q))), color=f"C{i}", lw=1.5, label=f"Q = {Q:g}")
    axes[0].set_ylim(0, 1.6)
    axes[0].set_title(f"varying Q = N/M (σ = 1); histograms: M = {M}")
    hi_all = float(MP.edges(2.0, float(max(d["sigmas"])))[1]) * 1.05
    for j, s in enumerate(d["sigmas"]):
        lam = d[f"S{j}"]
        lo, hi = (float(v) for v in MP.edges(2.0, float(s)))
        x = np.linspace(lo, hi, 500)
        axes[1].hist(lam, bins=np.linspace(0, hi_all, 90), density=True, alpha=0.3, color=f"C{j}")
        axes[1].plot(
            x, np.asarray(MP.pdf(x, 2.0, float(s))), color=f"C{j}", lw=1.5, label=f"σ = {s:g}"
        )
    axes[1].set_title("varying σ (Q = 2)")
    for ax in axes:
        ax.set_xlabel("eigenvalue λ of WᵀW/N")
        ax.set_ylabel("density ρ(λ)")
        ax.legend()
    save(fig, args.out, "mp_densities")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
