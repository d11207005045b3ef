"""Lu et al. (NeurIPS 2024), AlphaPruning: per-layer sparsity from the layers' α.

AlphaPruning allocates a global sparsity over the layers by a linear map of each layer's ESD
tail exponent α (fix-finger Hill fit; a larger α, a less trained layer, is pruned more), rescaled
so that the parameter-weighted mean sparsity is the target, and reports better pruned models
than the uniform allocation. Here both allocations, with magnitude and with Wanda scores, at
50/60/70/80% sparsity (``--full``), on:

- ``minilm``: all-MiniLM-L6-v2 (36 encoder dense layers, α averaged per encoder block, ε = 0.2),
  judged by its sentence embeddings of held-out standard-library docstring sentences against the
  dense model's (mean cosine similarity, nearest-neighbour agreement, top-10 overlap);
- ``digits``: the trained digits CNN shipped with htrmt (its two hidden dense layers, ε = 0.1),
  judged by test accuracy on its held-out split.

Usage::

    python -m paper_repro alphapruning --quick
    python -m paper_repro.alphapruning.run --full [--parts digits minilm] [--force]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from paper_repro import _pruning as P

PAPER = "alphapruning"
TITLE = (
    "Lu et al. (2024), AlphaPruning: Using Heavy-Tailed Self Regularization Theory for "
    "Improved Layer-wise Pruning of Large Language Models"
)
REFERENCE = "NeurIPS 2024"
HERE = Path(__file__).resolve().parent
ALLOCATIONS = {"uniform": None, "alphapruning": "alphapruning"}

_DIGITS = {
    "scores": ["magnitude", "wanda"],
    "epsilon": 0.1,
    "layers": ["fc1.weight", "fc2.weight"],
    "num_calib": 256,
}
_MINILM = {
    "scores": ["magnitude", "wanda"],
    "epsilon": 0.2,
    "by_block": r"encoder\.layer\.(\d+)\.",
    "max_length": 32,
    "batch": 64,
}
CONFIG = {
    "quick": {
        "digits": {**_DIGITS, "sparsities": [0.5]},
        "minilm": {**_MINILM, "sparsities": [0.5], "num_eval": 64, "num_calib": 64},
    },
    "full": {
        "digits": {**_DIGITS, "sparsities": [0.5, 0.6, 0.7, 0.8]},
        "minilm": {**_MINILM, "sparsities": [0.5, 0.6, 0.7, 0.8], "num_eval": 512,
                   "num_calib": 128},
    },
}  # fmt: skip

# Robust facts only (no regression values: see the README).
CHECKS = {
    "digits.dense_accuracy": dict(
        part="digits",
        kind="min",
        what="the dense digits CNN on its held-out split (≥ 0.98)",
        spec={"expected": 0.98, "tol": 0.0},
    ),
    "digits.summary.max_allocation_deviation": dict(
        part="digits",
        kind="max",
        what="|parameter-weighted mean of the allocated ratios − target| (exact: ≤ 1e-9)",
        spec={"expected": 1e-9, "tol": 0.0},
    ),
    "digits.summary.max_sparsity_deviation": dict(
        part="digits",
        kind="max",
        what="|achieved parameter-weighted sparsity − target| (rounding to whole rows: ≤ 0.005)",
        spec={"expected": 0.005, "tol": 0.0},
    ),
    "digits.summary.diff_min": dict(
        part="digits",
        kind="min",
        what="AlphaPruning − uniform test accuracy, lowest over scores and sparsities (≥ −0.2)",
        spec={"expected": -0.2, "tol": 0.0},
    ),
    "minilm.dense_paraphrase_ok": dict(
        part="minilm",
        kind="one_of",
        what="the dense encoder ranks each anchor's paraphrase first (forward pass sane)",
        spec={"expected": [True]},
    ),
    "minilm.summary.max_allocation_deviation": dict(
        part="minilm",
        kind="max",
        what="|parameter-weighted mean of the allocated ratios − target| (≤ 1e-9)",
        spec={"expected": 1e-9, "tol": 0.0},
    ),
    "minilm.summary.max_sparsity_deviation": dict(
        part="minilm",
        kind="max",
        what="|achieved parameter-weighted sparsity − target| (≤ 0.005)",
        spec={"expected": 0.005, "tol": 0.0},
    ),
    "minilm.summary.monotone": dict(
        part="minilm",
        kind="one_of",
        what="mean cosine similarity to the dense embeddings falls as the sparsity rises",
        spec={"expected": [True]},
    ),
    "minilm.summary.diff_min": dict(
        part="minilm",
        kind="min",
        what="AlphaPruning − uniform mean cosine similarity, lowest over scores and sparsities "
        "(≥ −0.1: the allocations are within 0.1 of each other)",
        spec={"expected": -0.1, "tol": 0.0},
    ),
    "minilm.summary.diff_max": dict(
        part="minilm",
        kind="max",
        what="AlphaPruning − uniform mean cosine similarity, highest (≤ 0.1)",
        spec={"expected": 0.1, "tol": 0.0},
    ),
}


def main(argv: list[str] | None = None) -> int:
    return P.run_main(
        argv, paper=PAPER, here=HERE, config=CONFIG, allocations=ALLOCATIONS,
        doc=__doc__.splitlines()[0],
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
