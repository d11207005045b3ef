"""Slide 10: heavy-tailed self-regularization in a trained network's layer.

The ESD of the largest dense layer of the embedded default model (a small equinox CNN trained on
scikit-learn's digits) on log–log axes with its power-law fit, against the ESD of the same
weights with their entries randomly permuted (same element distribution, no correlations),
which falls back onto the Marchenko–Pastur law.
"""

from __future__ import annotations

import math

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "trained_layer"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import load

    d = load("trained_layer", quick=args.quick, seed=args.seed)
    lam, lam_rand = np.asarray(d["lam"]), np.asarray(d["lam_rand"])
    N, M = (int(v) for v in d["shape"])
    N, M = max(N, M), min(N, M)
    Q = N / M
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    pl = ht.fit.powerlaw(lam)
    mp = ht.fit.marchenko_pastur(lam_rand, Q)
    ht.plotting.plot_esd(lam, ax=axes[0], scale="loglog", pl_fit=pl, label="trained layer ESD")
    axes[0].set_title(f"trained layer {d['name']} ({N}×{M}): α = {float(pl.alpha):.2f}")
    ax = axes[1]
    bins = np.linspace(0, max(lam.max(), lam_rand.max()) * 1.02, 80)
    ax.hist(lam, bins=bins, density=True, alpha=0.5, label="trained")
    ax.hist(lam_rand, bins=bins, density=True, alpha=0.5, label="entries permuted")
    x = np.linspace(1e-6, float(mp.lambda_plus) * 1.01, 500)
    ax.plot(
        x,
        np.asarray(ht.laws.marchenko_pastur.pdf(x, Q, float(mp.sigma))),
        "r-",
        label=f"MP fit of permuted (σ = {float(mp.sigma):.3g})",
    )
    ax.set_yscale("log")
    ax.set_xlabel("eigenvalue λ of WᵀW/N")
    ax.set_ylabel("density")
    ax.set_title("training builds correlations: a heavy tail past the MP edge")
    ax.legend(fontsize=8)
    assert math.isfinite(float(pl.alpha))
    save(fig, args.out, "trained_layer")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
