"""Command line: ``vsdl ...`` and ``python -m vsdl ...``.

``diagram`` computes a phase diagram (theory on a grid, Monte Carlo through the resumable sweep
runner), saves it as ``diagram.npz`` + ``diagram.json`` in the output folder and plots it.
``critical`` prints the first-order transitions and the large-α constants of the theories.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ._saved import QUICK

__all__ = ["add_arguments", "run", "main"]


def _grid(spec: str, name: str) -> np.ndarray:
    """``lo:hi:num`` (linear) or ``lo:hi:num:log`` or a comma list."""
    try:
        if ":" in spec:
            parts = spec.split(":")
            lo, hi, num = float(parts[0]), float(parts[1]), int(parts[2])
            if len(parts) > 3 and parts[3] == "log":
                return np.geomspace(lo, hi, num)
            return np.linspace(lo, hi, num)
        return np.asarray([float(x) for x in spec.split(",")])
    except (ValueError, IndexError):
        raise ValueError(
            f"--{name} must be lo:hi:num[:log] or a comma-separated list, got {spec!r}"
        ) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the ``diagram`` and ``critical`` actions (chosen one in ``vsdl_command``) to ``p``."""
    sub = p.add_subparsers(dest="vsdl_command", metavar="ACTION")
    d = sub.add_parser(
        "diagram",
        help="compute and plot a load–temperature phase diagram (theory + Monte Carlo)",
        description="Theory on an (α, τ) grid with its transition lines, Monte Carlo Gibbs "
        "learning on the same grid (resumable: rerun the same command to continue), saved as "
        "OUT/diagram.npz + diagram.json, plotted to OUT/diagram.png.",
    )
    d.add_argument("--model", choices=("ising", "spherical"), default="ising")
    d.add_argument(
        "--theory",
        choices=("annealed", "high_temperature", "quenched"),
        default=None,
        help="default: quenched (replica symmetric, every τ)",
    )
    d.add_argument("--alpha", default="0.25:3.0:12", help="loads: lo:hi:num[:log] or a,b,c")
    d.add_argument("--tau", default="0.1:1.5:8", help="temperatures: lo:hi:num[:log] or a,b,c")
    d.add_argument("--n", type=int, default=100, help="weights per perceptron (Monte Carlo)")
    d.add_argument("--replicas", type=int, default=8)
    d.add_argument("--sweeps", type=int, default=1000, help="sweeps per chain (burn-in included)")
    d.add_argument("--burn-in", type=int, default=None, help="default: sweeps // 2")
    d.add_argument("--good-error", type=float, default=0.2)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--no-mc", action="store_true", help="theory only")
    d.add_argument(
        "--quick",
        action="store_true",
        help=f"a small, fast diagram ({QUICK['na']}×{QUICK['nt']} points, N={QUICK['n']})",
    )
    d.add_argument(
        "--out", default="out/vsdl/diagram", help="output folder (default out/vsdl/diagram)"
    )
    d.add_argument("--plot", default=None, help="figure file (default OUT/diagram.png)")
    d.add_argument("--no-plot", action="store_true")
    d.add_argument("--x64", action="store_true", help="Monte Carlo in float64")
    d.add_argument("--progress", action="store_true")
    c = sub.add_parser("critical", help="print the first-order transitions and large-α constants")
    c.add_argument("--tau", default="0", help="temperatures for the annealed transition line")


def _diagram_from_args(args: argparse.Namespace):
    """Compute (or resume) the diagram described by parsed ``diagram`` arguments; save it."""
    from ._saved import compute_diagram

    dgm, _ = compute_diagram(
        _grid(args.alpha, "alpha"),
        _grid(args.tau, "tau"),
        args.out,
        model=args.model,
        theory=args.theory or "quenched",
        good_error=args.good_error,
        seed=args.seed,
        n=args.n,
        replicas=args.replicas,
        sweeps=args.sweeps,
        burn_in=args.burn_in,
        monte_carlo=not args.no_mc,
        quick=args.quick,
        progress=args.progress,
    )
    return dgm, Path(args.out)


def _run_diagram(args: argparse.Namespace) -> int:
    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)
    dgm, out = _diagram_from_args(args)
    sim = dgm.simulation
    print(
        f"vsdl diagram: {dgm.model}, {dgm.theory} theory, {dgm.alpha.size}×{dgm.tau.size} points "
        f"-> {out / 'diagram.npz'}"
    )
    for name, (tl, al) in dgm.lines.items():
        print(
            f"  {name}: " + ", ".join(f"τ={t:.3g}: α={a:.4g}" for t, a in zip(tl, al, strict=True))
        )
    if sim is not None:
        eq = np.asarray(sim.equilibrated)
        print(
            f"  Monte Carlo N={sim.n}: acceptance {np.min(sim.acceptance):.3g}..."
            f"{np.max(sim.acceptance):.3g}, tau_int up to {np.max(sim.tau_int):.3g} sweeps, "
            f"{int(eq.sum())}/{eq.size} points equilibrated"
        )
        if not eq.all():
            print(
                "  warning: some points did not equilibrate (crossed out in the plot); "
                "use more --sweeps",
                file=sys.stderr,
            )
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ._plot import plot_diagram

        ax = plot_diagram(dgm)
        path = Path(args.plot) if args.plot else out / "diagram.png"
        ax.figure.savefig(path, dpi=130)
        plt.close(ax.figure)
        print(f"  plot: {path}")
    return 0


def _run_critical(args: argparse.Namespace) -> int:
    from . import theory as th

    tau = _grid(args.tau, "tau")
    print("Ising perceptron, first-order transition to perfect generalization:")
    q = th.critical_load(model="ising", theory="quenched")
    print(
        f"  quenched RS, τ=0:  α_c = {float(q.alpha_c):.5f}  spinodal {float(q.alpha_spinodal):.5f}"
        "  (literature 1.245, 1.49)"
    )
    for theory in ("quenched", "annealed"):
        a = th.critical_load(model="ising", theory=theory, tau=tau)
        for t, ac, sp in zip(
            np.atleast_1d(tau),
            np.atleast_1d(a.alpha_c),
            np.atleast_1d(a.alpha_spinodal),
            strict=True,
        ):
            if theory == "quenched" and t == 0:
                continue
            print(
                f"  {theory}, τ={t:.3g}:  α_c = {ac:.5f}  spinodal {sp:.5f}"
                + ("  (literature 1.448)" if t == 0 else "")
            )
    h = th.critical_load(model="ising", theory="high_temperature")
    print(
        f"  high temperature: (α/τ)_c = {float(h.alpha_c):.5f}  "
        f"spinodal {float(h.alpha_spinodal):.5f}"
    )
    print("Spherical perceptron, Gibbs learning at τ=0, ε·α at α = 1000:")
    for theory, lit in (("quenched", 0.625), ("annealed", 1.0)):
        e = float(th.generalization_error(1000.0, 0.0, model="spherical", theory=theory))
        print(f"  {theory}: {1000.0 * e:.5f}  (literature {lit})")
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed ``vsdl`` command line (its action is in ``args.vsdl_command``)."""
    actions = {"diagram": _run_diagram, "critical": _run_critical}
    action = actions.get(getattr(args, "vsdl_command", None) or "")
    if action is None:
        print("usage: vsdl {diagram,critical} ... (see --help)", file=sys.stderr)
        return 2
    return int(action(args) or 0)


def main(argv: list[str] | None = None) -> int:
    """The ``vsdl`` command (also ``python -m vsdl``)."""
    p = argparse.ArgumentParser(prog="vsdl", description="The VSDL model: phase diagrams")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"vsdl: error: {err}", file=sys.stderr)
        return 2
