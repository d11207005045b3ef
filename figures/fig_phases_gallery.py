"""Slide 8: the 5+1 phases of training, one synthetic example each, with their verdicts."""

from __future__ import annotations

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.talk_spectra", "phases"),)


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    import htrmt as ht
    from sims.talk_spectra import load

    d = load("phases", quick=args.quick, seed=args.seed)
    phases = [str(p) for p in d["phases"]]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    for i, (ax, ph) in enumerate(zip(axes.ravel(), phases)):
        lam = np.asarray(d[f"lam{i}"])
        Q = 2.0
        res = ht.phases.classify(lam, Q)
        scale = "loglog" if ph in ("heavy-tailed", "rank-collapse") else "linear"
        lamp = lam[lam > 0] if scale == "loglog" else lam
        mp = res.mp if ph not in ("heavy-tailed", "rank-collapse") else None
        pl = res.powerlaw if ph == "heavy-tailed" else None
        ht.plotting.plot_esd(lamp, ax=ax, scale=scale, mp_fit=mp, pl_fit=pl, Q=Q)
        ok = "✓" if res.phase == ph else "✗"
        ax.set_title(f"{ph}\nclassified: {res.phase} {ok}", fontsize=10)
    fig.suptitle("The 5+1 phases of training (synthetic examples, htrmt.ensembles.phase_example)")
    fig.tight_layout()
    save(fig, args.out, "phases_gallery")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
