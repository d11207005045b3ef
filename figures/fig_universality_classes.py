"""Slide 7: the heavy-tailed universality table as a figure, one panel per class.

Each panel: the ESD on log–log axes, the Marchenko–Pastur law (the limit of the light-tailed
classes), the fitted power-law tail and the limiting tail exponent µ/2 + 1 of the heavy-tailed
classes, with edge and tail statistics annotated.
"""

from __future__ import annotations

import math

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "classes"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import CLASS_ROWS, load

    d = load("classes", quick=args.quick, seed=args.seed)
    n = len(CLASS_ROWS)
    fig, axes = plt.subplots(1, n, figsize=(4.0 * n, 4.4))
    for i, (ax, (label, kind, mu)) in enumerate(zip(axes, CLASS_ROWS)):
        lam = np.asarray(d[f"lam{i}"])
        M = lam.size
        Q = 2.0
        uc = ht.ensembles.universality_class(mu, spiked=(kind == "spiked"))
        sigma2 = lam.mean()  # tr(X)/M: the entry variance (sample value for µ <= 2)
        lam_plus = sigma2 * (1 + 1 / math.sqrt(Q)) ** 2
        h = ht.spectra.histogram(lam, bins=45, scale="log")
        m = h.counts > 0
        ax.loglog(h.centers[m], h.density[m], "o", ms=3, label="ESD")
        x = np.geomspace(h.edges[0], h.edges[-1], 500)
        ax.loglog(
            x,
            np.maximum(np.asarray(ht.laws.marchenko_pastur.pdf(x, Q, math.sqrt(sigma2))), 1e-300),
            "r-",
            lw=1,
            label="MP limit",
        )
        txt = [f"λ_max/λ+ = {lam.max() / lam_plus:.3g}"]
        if kind == "pareto":
            fit = ht.fit.powerlaw(lam)
            xt = x[x >= float(fit.xmin)]
            a = float(fit.alpha)
            dens = (
                int(fit.num_tail) / M * (a - 1) / float(fit.xmin) * (xt / float(fit.xmin)) ** (-a)
            )
            ax.loglog(xt, dens, "k--", lw=1.2, label=f"PL fit α = {a:.2f}")
            if uc.alpha_limit is not None:
                al = uc.alpha_limit
                ax.loglog(
                    xt,
                    dens[0] * (xt / xt[0]) ** (-al),
                    "g:",
                    lw=1.5,
                    label=f"limit α = µ/2+1 = {al:.2f}",
                )
            txt.append(f"fitted α = {a:.2f} ± {float(fit.sigma):.2f}")
            if f"levy_pdf{i}" in d:
                ax.loglog(
                    d[f"levy_x{i}"],
                    np.maximum(d[f"levy_pdf{i}"], 1e-300),
                    "m-",
                    lw=1.2,
                    label="heavy-tailed law (cavity, same N)",
                )
        ax.set_ylim(max(h.density[m].min() * 0.05, 1e-12), h.density[m].max() * 5)
        ax.set_title(f"{label}\n{uc.name}", fontsize=10)
        ax.text(
            0.03,
            0.03,
            "\n".join(txt + [f"edge: {uc.bulk_edge}", f"far tail: {uc.far_tail}"]),
            transform=ax.transAxes,
            fontsize=7,
            va="bottom",
            bbox=dict(facecolor="white", alpha=0.8, lw=0),
        )
        ax.set_xlabel("eigenvalue λ of WᵀW/N")
        from matplotlib.ticker import NullFormatter

        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("density ρ(λ)")
    fig.suptitle(f"Universality classes of the ESD (N×M = {2 * M}×{M}, Q = 2)")
    fig.tight_layout()
    save(fig, args.out, "universality_classes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
