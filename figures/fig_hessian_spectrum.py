"""Hessian and Gauss–Newton spectra of a small MLP trained on scikit-learn's digits, by stochastic
Lanczos quadrature (Gaussian-broadened), at initialisation and after training: a bulk near zero
plus a
few outliers (ticks: the top Hessian eigenvalues by Lanczos)."""

from __future__ import annotations

import json

import numpy as np

from figures import Data
from figures._common import parser, plt, save

NEEDS = (Data("sims.levy_hessian", "hessian"),)


def _density(nodes, weights, x):
    import htrmt as ht

    q = ht.hessian.SpectralQuadrature(nodes, weights)
    spread = float(np.max(nodes) - np.min(nodes))
    sigma = spread / nodes.shape[1] * 0.5
    return np.asarray(q.density(x, sigma)), sigma


def main(argv=None) -> int:
    args = parser(__doc__).parse_args(argv)
    from sims.levy_hessian import data_path, load

    d = load("hessian", quick=args.quick, seed=args.seed)
    meta = json.loads(
        data_path("hessian", quick=args.quick, seed=args.seed).with_suffix(".json").read_text()
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, which, title in (
        (axes[0], "h", "loss Hessian"),
        (axes[1], "gn", "Gauss–Newton Jᵀ H_L J"),
    ):
        for tag, color in (("init", "C7"), ("trained", "C3")):
            nodes, weights = d[f"{tag}_{which}_nodes"], d[f"{tag}_{which}_weights"]
            lo, hi = float(nodes.min()), float(nodes.max())
            pad = 0.05 * (hi - lo)
            x = np.linspace(lo - pad, hi + pad, 2000)
            rho, sigma = _density(nodes, weights, x)
            loss = float(d[f"{tag}_loss"])
            ax.semilogy(
                x,
                np.maximum(rho, 1e-8),
                color=color,
                lw=1.4,
                label=f"{tag} (loss {loss:.3f}), σ = {sigma:.2g}",
            )
        if which == "h":
            for t in np.asarray(d["trained_top"]):
                ax.axvline(float(t), ymin=0, ymax=0.06, color="C3", lw=1)
        ax.set_ylim(1e-6, None)
        ax.set_xlabel("eigenvalue")
        ax.set_title(title)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("spectral density (SLQ)")
    s = meta["sizes"]
    fig.suptitle(
        f"MLP 64-{s['width']}-{s['width']}-10 on digits ({s['num_params']} parameters, "
        f"{s['train_steps']} Adam steps, test accuracy {float(d['test_accuracy']):.3f}); "
        f"SLQ {s['lanczos_steps']} steps × {s['probes']} probes"
    )
    fig.tight_layout()
    save(fig, args.out, "hessian_spectrum")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
