"""Helpers shared by the simulation scripts: output folders, JSON sidecars, markdown tables."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from htrmt.sweep import atomic_write_bytes, atomic_write_json, environment

__all__ = [
    "OUT_ROOT",
    "out_dir",
    "write_sidecar",
    "save_arrays",
    "write_text",
    "markdown_table",
    "set_threads",
    "dump_json",
]

OUT_ROOT = Path(os.environ.get("HTRMT_OUT", "out"))


def set_threads(n: int = 1) -> None:
    """Ask BLAS/XLA for ``n`` threads (before importing jax; set values are kept)."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(n))


def out_dir(*parts: str, root: str | os.PathLike | None = None) -> Path:
    """``<root>/sims/<parts...>`` (root: ``$HTRMT_OUT`` or ``out``), created if missing."""
    p = Path(root if root is not None else OUT_ROOT).joinpath("sims", *parts)
    p.mkdir(parents=True, exist_ok=True)
    return p


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None if np.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_sidecar(
    path: str | os.PathLike, *, seed: int, sizes: Mapping[str, Any], **extra: Any
) -> dict[str, Any]:
    """Write the JSON sidecar of a data file: seed, sizes, x64, versions, devices, git commit.

    Args:
        path: the sidecar's path (conventionally ``<data>.json`` next to the data).
        seed: the integer seed of the run.
        sizes: the sizes / grid / trial counts that define the run.
        **extra: anything else worth recording (mode, timings, script name).

    Returns:
        The dict written.
    """
    env = environment()
    meta = {
        "seed": seed,
        "sizes": sizes,
        "x64": env["x64"],
        "jax": env["jax"],
        "jaxlib": env["jaxlib"],
        "numpy": env["numpy"],
        "htrmt": env["htrmt"],
        "backend": env["backend"],
        "devices": env["devices"],
        "git_commit": env["git"]["commit"],
        "git_dirty": env["git"]["dirty"],
        "python": env["python"],
        "platform": env["platform"],
        "time": env["time"],
        **extra,
    }
    meta = _jsonable(meta)
    atomic_write_json(path, meta)
    return meta


def save_arrays(path: str | os.PathLike, **arrays: Any) -> None:
    """``np.savez`` written atomically."""
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    atomic_write_bytes(path, writer=lambda f: np.savez(f, **arrays))


def write_text(path: str | os.PathLike, text: str) -> None:
    """A text file written atomically."""
    atomic_write_bytes(path, text.encode())


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "{:.3f}"
) -> str:
    """A GitHub markdown table; floats formatted with ``fmt``, other values with ``str``."""

    def cell(v: Any) -> str:
        if isinstance(v, (float, np.floating)):
            return "–" if not np.isfinite(v) else fmt.format(float(v))
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def dump_json(path: str | os.PathLike, obj: Any) -> None:
    """JSON (numpy values converted, non-finite floats as null/"inf") written atomically."""
    atomic_write_bytes(path, (json.dumps(_jsonable(obj), indent=2) + "\n").encode())


def load_or_simulate(path: Path, simulate: Any, label: str) -> dict:
    """The arrays of the ``.npz`` at ``path``, calling ``simulate()`` first when it is missing."""
    if not path.exists():
        print(f"[{label}] {path} missing: running the simulation", flush=True)
        simulate()
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
