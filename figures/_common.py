"""Shared plumbing of the figure scripts: arguments, saving PNG + PDF."""

from __future__ import annotations

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["parser", "save", "plt"]


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="plot the quick (small) data set")
    p.add_argument("--out", default="out/figures", help="output folder (default out/figures)")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulation data")
    return p


def save(fig, out: str, name: str) -> list[str]:
    """Write ``<out>/<name>.png`` and ``.pdf``; returns the paths."""
    os.makedirs(out, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=120, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    print("  wrote " + ", ".join(paths))
    return paths
