"""The VSDL load–temperature phase diagram (Ising perceptron) and the branches behind it.

(a) Monte Carlo generalization error of Gibbs learning on an (α, τ) grid as a heat map, with the
quenched theory's first-order transition, spinodal and glass line (the freezing temperature of
the frozen one-step RSB glass) on top and the theory's regions named (poor, good, perfect,
coexistence, glass); points whose chains did not equilibrate are crossed out, and the script
reports how many of them lie where the theory puts the glass.
(b) Every branch of the saddle-point equations at τ = 0 (quenched and annealed): stable branches
solid, unstable dashed, the jump to perfect generalization at α_c and the spinodal.

Data: ``out/sims/vsdl_diagram/<quick|full>`` written by ``python -m sims.vsdl_diagram``
(:func:`vsdl.compute_diagram` on ``vsdl diagram``'s default grid), or ``--data`` any folder that
``vsdl diagram`` wrote. Usage::

    python -m figures.fig_vsdl_phase_diagram [--quick] [--data DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from figures import Data

NEEDS = (Data("sims.vsdl_diagram"),)


def _branch_curves(model: str, theory: str):
    from vsdl import theory as th

    if model == "ising" and theory == "quenched":
        p = np.concatenate([np.geomspace(1e-4, 1, 200), np.linspace(1, 40, 800)])
    else:
        p = np.concatenate([np.geomspace(1e-9, 1e-2, 200), np.linspace(1e-2, 0.5, 800)])
    c = th.stationary_load(p, model=model, theory=theory)
    return c["load"], c["eps"], c["stable"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="diagram folder (default: sims/vsdl_diagram's)")
    ap.add_argument("--out", default="out/figures", help="output folder (default out/figures)")
    ap.add_argument("--quick", action="store_true", help="plot the quick diagram")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulation data")
    args = ap.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import vsdl
    from vsdl import theory as th

    data = Path(args.data) if args.data else NEEDS[0].path(quick=args.quick, seed=args.seed).parent
    if not (data / "diagram.npz").exists():
        print(f"no diagram in {data}: run `python -m figures vsdl_phase_diagram`", file=sys.stderr)
        return 1
    dgm, meta = vsdl.load_diagram(data)

    fig, (ax1, ax2) = plt.subplots(
        1,
        2,
        figsize=(13.0, 5.0),
        constrained_layout=True,
        gridspec_kw={"width_ratios": [1.25, 1.0]},
    )
    vsdl.plot_diagram(dgm, ax=ax1)
    ax1.set_title(f"(a) {ax1.get_title()}", fontsize=10)
    glass_note = ""
    if dgm.simulation is not None:
        stuck = ~np.asarray(dgm.simulation.equilibrated)
        in_glass = np.asarray(dgm.phase) == vsdl.PHASES.index("spin_glass")
        glass_note = (
            f"; not equilibrated: {int(stuck.sum())} of {stuck.size} points, "
            f"{int((stuck & in_glass).sum())} of them in the theory's glass "
            f"(glass cells: {int(in_glass.sum())}, {int((in_glass & ~stuck).sum())} equilibrated)"
        )

    for theory, color in (("quenched", "C0"), ("annealed", "C3")):
        load, eps, stable = _branch_curves("ising", theory)
        order = np.argsort(-eps)
        load, eps, stable = load[order], eps[order], stable[order]
        for flag, ls in ((True, "-"), (False, "--")):
            y = np.where(stable == flag, eps, np.nan)
            ax2.plot(
                load,
                y,
                ls=ls,
                color=color,
                label=f"{theory}: {'stable' if flag else 'unstable'} branch",
            )
        cl = th.critical_load(model="ising", theory=theory)
        ax2.plot([float(cl.alpha_c)] * 2, [0.0, float(cl.epsilon_poor)], ":", color=color, lw=1.2)
        ax2.plot(float(cl.alpha_spinodal), float(cl.epsilon_spinodal), "o", color=color, ms=5)
        ax2.annotate(
            f"α_c = {float(cl.alpha_c):.3f}",
            (float(cl.alpha_c) + 0.02, 0.01),
            color=color,
            rotation=90,
            fontsize=8,
            ha="left",
            va="bottom",
        )
    ax2.axhline(0.0, color="k", lw=2.5, label="perfect state ε = 0 (always locally stable)")
    ax2.set_xlim(0, 3.0)
    ax2.set_ylim(-0.01, 0.5)
    ax2.set_xlabel("load α")
    ax2.set_ylabel("generalization error ε")
    ax2.set_title(
        "(b) Ising perceptron at τ = 0: every saddle-point branch\n"
        "(dots: spinodals; dotted: first-order jumps)",
        fontsize=10,
    )
    ax2.legend(fontsize=7.5, loc="upper right")
    out = Path(args.out) / "vsdl_phase_diagram.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130)
    fig.savefig(out.with_suffix(".pdf"))
    plt.close(fig)
    print(
        f"wrote {out} (data {data}, N={meta['n']}, {meta['replicas']} replicas, "
        f"{meta['sweeps']} sweeps{glass_note})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
