"""Slide 9: Bulk+Spikes as Tikhonov regularisation.

Ridge regression ``x̂ = (X + αI)⁻¹Wᵀy`` filters each eigen-direction of ``X = WᵀW/N`` by
``λ/(λ + α)``: directions with eigenvalues above α (the spikes) pass, the MP bulk below is damped.
The spikes act like a data-dependent α: the signal lives in the eigen-directions above the bulk.
"""

from __future__ import annotations

import math

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "tikhonov"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import load

    d = load("tikhonov", quick=args.quick, seed=args.seed)
    lam, b = np.asarray(d["lam"]), np.asarray(d["b"])
    Q = 2.0
    lam_plus = float(ht.laws.marchenko_pastur.edges(Q)[1])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    bins = np.geomspace(lam.min() * 0.9, lam.max() * 1.1, 70)
    ax.hist(lam, bins=bins, alpha=0.6, label="ESD of X = WᵀW/N (counts)")
    x = np.geomspace(max(float(ht.laws.marchenko_pastur.edges(Q)[0]), 1e-3), lam_plus, 400)
    # Expected counts per log bin under MP: M·ρ(λ)·λ·Δlog λ.
    dlog = np.log(bins[1] / bins[0])
    ax.plot(
        x,
        lam.size * np.asarray(ht.laws.marchenko_pastur.pdf(x, Q)) * x * dlog,
        "r-",
        label="MP bulk",
    )
    alphas = (0.3, lam_plus, 6.0)
    for a, c in zip(alphas, ("C2", "C3", "C4")):
        ax.axvline(a, color=c, ls="--", lw=1, label=f"α = {a:.2g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("number of eigenvalues")
    ax.set_title("bulk + spikes, and Tikhonov α")
    ax.legend(fontsize=8)
    ax = axes[1]
    xs = np.geomspace(lam.min() * 0.5, lam.max() * 2, 400)
    for a, c in zip(alphas, ("C2", "C3", "C4")):
        ax.semilogx(xs, xs / (xs + a), color=c, label=f"filter λ/(λ+α), α = {a:.2g}")
    # Energy of the ridge solution per eigen-direction, α = λ+: spikes dominate.
    a = lam_plus
    coef = np.abs(b / (lam + a))
    ax2 = ax.twinx()
    ax2.semilogx(lam, coef / coef.max(), "k.", ms=4, label="|x̂| per eigen-direction (α = λ+)")
    ax2.set_ylabel("relative |x̂ coefficient|")
    ax.axvspan(lam_plus, xs[-1], color="0.9", zorder=0)
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("filter factor")
    ax.set_title("eigen-directions above α carry the signal")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="center left")
    assert math.isfinite(float(coef.max()))
    save(fig, args.out, "tikhonov")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
