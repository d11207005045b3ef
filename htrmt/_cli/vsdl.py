"""``htrmt vsdl``: the Very Simple Deep Learning model's phase diagrams (the ``vsdl`` package).

The arguments are defined here, not in :mod:`vsdl._cli` (which uses them for ``python -m vsdl``),
because importing anything from ``vsdl`` imports the package and JAX with it: ``htrmt --help``
and ``htrmt vsdl diagram --help`` stay instant, and ``vsdl`` is imported only to run an action.
"""

from __future__ import annotations

import argparse

QUICK = dict(n=40, replicas=4, sweeps=300, na=8, nt=5)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "vsdl",
        help="load–temperature phase diagrams of the VSDL model (theory + Monte Carlo)",
        description="The Very Simple Deep Learning model: teacher–student perceptrons learning "
        "by Gibbs sampling. 'diagram' computes and plots a phase diagram (resumable); 'critical' "
        "prints the theory's transitions.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


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


def run(args: argparse.Namespace) -> int:
    from vsdl._cli import run as run_vsdl

    return run_vsdl(args)
