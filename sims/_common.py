"""Helpers shared by the simulation scripts: threads, cached datasets, their command line.

Output folders, sidecars and atomic writes are :mod:`sims.outputs` (re-exported here).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .outputs import dump_json, markdown_table, save_arrays, write_sidecar, write_text
from .outputs import out_dir as _out_dir

__all__ = [
    "out_dir",
    "write_sidecar",
    "save_arrays",
    "write_text",
    "markdown_table",
    "set_threads",
    "dump_json",
    "read_arrays",
    "datasets_main",
]


def set_threads(n: int = 1) -> None:
    """Ask BLAS/XLA for ``n`` threads (before importing jax; set values are kept)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def out_dir(*parts: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/sims/<parts...>`` (:func:`sims.outputs.out_root`), created if missing."""
    return _out_dir("sims", *parts, root=root)


def read_arrays(path: Path, command: str) -> dict:
    """The arrays of the ``.npz`` at ``path``; ``FileNotFoundError`` naming ``command`` if none."""
    if not path.exists():
        raise FileNotFoundError(
            f"no data at {path}: run `{command}` (or `python -m figures`, which runs missing "
            "simulations first)"
        )
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def datasets_main(argv: Any, description: str, datasets: Sequence[str], simulate: Any) -> int:
    """Command line of a data script: ``[NAMES] [--quick] [--seed S]``, each dataset simulated."""
    import argparse

    p = argparse.ArgumentParser(description=description)
    p.add_argument("names", nargs="*", help=f"datasets (default all): {', '.join(datasets)}")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    for name in args.names or datasets:
        print(simulate(name, quick=args.quick, seed=args.seed))
    return 0
