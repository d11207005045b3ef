"""FARMS (ICML 2025): α without aspect-ratio bias, for AlphaPruning's allocation.

FARMS fits α to the pooled ESD of fixed-shape windows of each matrix (100×100 windows at 9×9
evenly spaced positions here, as for vision models in the paper) instead of the ESD of the whole
matrix, and reports better AlphaPruning allocations from it. Here AlphaPruning's allocation from
plain α (fix-finger fit of the whole matrix) against the same allocation from FARMS α, with
magnitude and Wanda scores, on the same two models and settings as ``paper_repro.alphapruning``:
all-MiniLM-L6-v2 (embeddings against the dense model's) and the shipped digits CNN (accuracy).

Usage::

    python -m paper_repro farms --quick
    python -m paper_repro.farms.run --full [--parts digits minilm] [--force]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from paper_repro import _pruning as P

PAPER = "farms"
TITLE = "FARMS (2025): Fixed-Aspect-Ratio Matrix Subsampling for HT-SR metrics"
REFERENCE = "ICML 2025"
HERE = Path(__file__).resolve().parent
ALLOCATIONS = {"alphapruning": "alphapruning", "farms": "farms"}

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
        what="FARMS − plain α test accuracy, lowest over scores and sparsities (≥ −0.2)",
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
        what="FARMS − plain α mean cosine similarity, lowest over scores and sparsities "
        "(≥ −0.1: the allocations are within 0.1 of each other)",
        spec={"expected": -0.1, "tol": 0.0},
    ),
    "minilm.summary.diff_max": dict(
        part="minilm",
        kind="max",
        what="FARMS − plain α mean cosine similarity, highest (≤ 0.1)",
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
