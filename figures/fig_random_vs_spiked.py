"""Slide 4: the ESD of a random matrix against a random matrix with spikes, with matrix entropy."""

from __future__ import annotations

import math

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "random_vs_spiked"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import load

    d = load("random_vs_spiked", quick=args.quick, seed=args.seed)
    lam_r, lam_s = d["lam_random"], d["lam_spiked"]
    M = lam_r.size
    Q = 2.0
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    x = np.linspace(1e-3, max(lam_s.max(), 3.2) * 1.02, 800)
    pdf = np.asarray(ht.laws.marchenko_pastur.pdf(x, Q))
    lam_plus = float(ht.laws.marchenko_pastur.edges(Q)[1])
    for ax, lam, ent, title in (
        (axes[0], lam_r, d["entropy"][0], "random (Gaussian) W"),
        (axes[1], lam_s, d["entropy"][1], "random W + rank-4 signal"),
    ):
        bins = np.linspace(0, x[-1], 90)
        ax.hist(lam, bins=bins, density=True, alpha=0.6, color="C0", label=f"ESD (M={M})")
        ax.plot(x, pdf, "r-", lw=1.5, label="Marchenko–Pastur (Q=2, σ=1)")
        ax.axvline(lam_plus, color="r", ls=":", lw=1, label="λ+")
        ax.set_title(f"{title}\nmatrix entropy = {ent:.4f}")
        ax.set_xlabel("eigenvalue λ of X = WᵀW/N")
        ax.legend(fontsize=8)
    for j, s in enumerate(d["strengths"]):
        loc = float(ht.laws.bbp.location(float(s), Q, model="low_rank"))
        # staggered labels keep close spikes readable
        axes[1].annotate(
            f"spike S={s:g}",
            (loc, 0.02),
            xytext=(loc, 0.22 + 0.13 * (j % 3)),
            fontsize=7,
            ha="center",
            arrowprops=dict(arrowstyle="->", lw=0.7),
        )
    axes[0].set_ylabel("density ρ(λ)")
    fig.suptitle(
        "Random matrix vs random matrix with spikes: spikes leave the MP bulk "
        "and lower the entropy",
        fontsize=11,
        y=1.04,
    )
    save(fig, args.out, "random_vs_spiked")
    assert math.isfinite(float(d["entropy"][1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
