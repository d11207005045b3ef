"""The VSDL load–temperature phase diagram of the figure: :func:`vsdl.compute_diagram` on the
``vsdl diagram`` default grid (Ising perceptron, quenched theory, Monte Carlo Gibbs learning).

Usage::

    python -m sims.vsdl_diagram [--quick] [--seed S]     # writes out/sims/vsdl_diagram/[quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ALPHA = np.linspace(0.25, 3.0, 12)  # the defaults of ``vsdl diagram``
TAU = np.linspace(0.1, 1.5, 8)


def data_path(name: str = "diagram", *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """``<root>/sims/vsdl_diagram/<quick|full>[_s<seed>]/diagram.npz`` (``name`` ignored)."""
    from .outputs import out_root

    mode = ("quick" if quick else "full") + (f"_s{seed}" if seed else "")
    return out_root(root) / "sims" / "vsdl_diagram" / mode / "diagram.npz"


def simulate(name: str = "diagram", *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """Compute (or resume) the diagram; returns :func:`data_path`."""
    import vsdl

    path = data_path(name, quick=quick, seed=seed, root=root)
    vsdl.compute_diagram(ALPHA, TAU, path.parent, seed=seed, quick=quick)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m sims.vsdl_diagram", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(simulate(quick=args.quick, seed=args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
