"""Slide 5: Wigner's semicircle, and the Tracy–Widom law of the largest eigenvalue at the edge."""

from __future__ import annotations

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "semicircle_edge"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import load

    d = load("semicircle_edge", quick=args.quick, seed=args.seed)
    evals, lmax = d["evals"], d["lmax"]
    N = evals.size
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    ax.hist(evals, bins=80, density=True, alpha=0.6, label=f"GOE eigenvalues (N={N})")
    x = np.linspace(-2.3, 2.3, 600)
    ax.plot(x, np.asarray(ht.laws.semicircle.pdf(x)), "r-", lw=1.5, label="semicircle √(4−x²)/2π")
    ax.set_xlabel("eigenvalue x")
    ax.set_ylabel("density")
    ax.set_title("bulk: Wigner semicircle")
    ax.legend(fontsize=8)
    ax = axes[1]
    # GOE normalised to [-2, 2]: (λ_max − 2)·N^(2/3) → TW1.
    s = (lmax - 2.0) * N ** (2 / 3)
    ax.hist(s, bins=60, density=True, alpha=0.6, label=f"(λ_max − 2)·N^(2/3), {lmax.size} samples")
    t = np.linspace(-6, 4, 500)
    ax.plot(
        t, np.asarray(ht.laws.tracy_widom.pdf(t, beta=1)), "r-", lw=1.5, label="Tracy–Widom β=1"
    )
    ax.plot(t, np.asarray(ht.laws.tracy_widom.pdf(t, beta=2)), "k--", lw=1, label="Tracy–Widom β=2")
    ax.set_xlabel("scaled largest eigenvalue s")
    ax.set_title("edge: Tracy–Widom fluctuations, width N^(-2/3)")
    ax.legend(fontsize=8)
    save(fig, args.out, "semicircle_edge")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
