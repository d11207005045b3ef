"""Heavy-tailed (Lévy) spectral densities by population dynamics on the cavity recursion, over
sampled
histograms (log–log): the ESD of X = WᵀW/N with Pareto entries for several µ (Q = 2, same N), and a
Pareto Wigner matrix; dashed: the tail laws ρ ~ λ^-(µ/2+1) (Wishart) and |x|^-(µ+1) (Wigner)."""

from __future__ import annotations

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.levy_hessian", "levy"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.levy_hessian import load

    d = load("levy", quick=args.quick, seed=args.seed)
    mus = [float(m) for m in d["mus"]]
    fig, axes = plt.subplots(1, len(mus) + 1, figsize=(4.0 * (len(mus) + 1), 4.2))
    for i, (ax, mu) in enumerate(zip(axes, mus, strict=False)):
        lam, grid, pdf, err = d[f"lam{i}"], d[f"grid{i}"], d[f"pdf{i}"], d[f"err{i}"]
        h = ht.spectra.histogram(lam, bins=40, scale="log")
        m = h.counts > 0
        ax.loglog(h.centers[m], h.density[m], "o", ms=3, color="0.45", label="sampled ESD")
        ok = pdf > 0
        ax.loglog(grid[ok], pdf[ok], "C0-", lw=1.6, label="cavity (same N)")
        ax.fill_between(
            grid[ok],
            np.maximum(pdf - 2 * err, 1e-300)[ok],
            (pdf + 2 * err)[ok],
            color="C0",
            alpha=0.25,
            lw=0,
        )
        a = ht.laws.levy.tail_exponent(mu)
        xt = grid[grid >= np.quantile(lam, 0.9)]
        if xt.size > 1 and pdf[grid >= xt[0]][0] > 0:
            y0 = np.interp(xt[0], grid, pdf)
            ax.loglog(
                xt, y0 * (xt / xt[0]) ** (-a), "k--", lw=1, label=f"λ^-(µ/2+1), µ/2+1 = {a:g}"
            )
        ax.set_ylim(max(h.density[m].min() * 0.1, 1e-14), h.density[m].max() * 5)
        cls = "very heavy-tailed" if mu < 2 else "moderately heavy-tailed"
        ax.set_title(f"WᵀW/N, µ = {mu:g} ({cls})", fontsize=10)
        ax.set_xlabel("eigenvalue λ")
        ax.legend(fontsize=7, loc="lower left")
    axes[0].set_ylabel("density ρ(λ)")
    ax = axes[-1]
    mu = float(d["wig_mu"])
    ev, grid = d["wig_ev"], d["wig_grid"]
    h = ht.spectra.histogram(np.abs(ev), bins=40, scale="log")
    m = h.counts > 0
    ax.loglog(h.centers[m], h.density[m] / 2, "o", ms=3, color="0.45", label="sampled, per side")
    ax.loglog(grid, d["wig_pdf"], "C1-", lw=1.6, label="cavity (same N)")
    ax.loglog(grid, d["wig_lim"], "C2:", lw=1.6, label="cavity, N → ∞")
    A = ht.laws.levy.tail_amplitude(mu, "wigner")
    xt = grid[grid > 3]
    ax.loglog(xt, A * xt ** (-(mu + 1)), "k--", lw=1, label="(µ/2)2^(1-µ/2)|x|^-(µ+1)")
    ax.set_ylim(max(h.density[m].min() * 0.05, 1e-12), h.density[m].max() * 5)
    ax.set_title(f"Wigner N^(1/2-1/µ)·H, µ = {mu:g}", fontsize=10)
    ax.set_xlabel("|x|")
    ax.legend(fontsize=7, loc="lower left")
    N = int(d["lam0"].size)
    fig.suptitle(
        f"Heavy-tailed spectral densities: population dynamics vs sampled spectra "
        f"({'quick' if args.quick else 'full'} data, {N} eigenvalues per Wishart panel)"
    )
    fig.tight_layout()
    save(fig, args.out, "levy_density")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
