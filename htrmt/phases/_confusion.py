"""Confusion matrix of the phase classifier on synthetic examples of each phase."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import numpy as np

from .._checks import check_int, check_key, check_shape
from ..ensembles._phases import PHASES, phase_example
from ..spectra import esd
from ._classify import PhaseThresholds, classify

__all__ = ["ConfusionMatrix", "confusion_matrix"]


@dataclasses.dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (true phase, predicted phase) over synthetic matrices.

    Attributes:
        phases: the true phases (rows), in order.
        labels: the predicted phases (columns): all of :data:`PHASES`.
        counts: int array ``(len(phases), len(labels))``, summed over ``shapes``.
        per_shape: ``{shape: counts}`` for each shape.
        shapes: the ``(N, M)`` shapes used.
        trials: matrices per (phase, shape).
    """

    phases: tuple[str, ...]
    labels: tuple[str, ...]
    counts: np.ndarray
    per_shape: dict
    shapes: tuple[tuple[int, int], ...]
    trials: int

    @property
    def accuracy(self) -> dict[str, float]:
        """Fraction classified correctly, per true phase."""
        out = {}
        for i, p in enumerate(self.phases):
            out[p] = float(self.counts[i, self.labels.index(p)] / max(1, self.counts[i].sum()))
        return out

    def to_markdown(self) -> str:
        """The matrix as a markdown table (rows: truth, columns: verdict)."""
        head = "| true \\ predicted | " + " | ".join(self.labels) + " | accuracy |"
        sep = "|---" * (len(self.labels) + 2) + "|"
        rows = [head, sep]
        acc = self.accuracy
        for i, p in enumerate(self.phases):
            cells = " | ".join(str(int(c)) for c in self.counts[i])
            rows.append(f"| {p} | {cells} | {acc[p]:.0%} |")
        return "\n".join(rows)


def confusion_matrix(
    key: jax.Array,
    *,
    phases: Sequence[str] = PHASES,
    shapes: Sequence[tuple[int, int]] = ((1000, 500),),
    trials: int = 20,
    thresholds: PhaseThresholds | None = None,
    dtype=None,
) -> ConfusionMatrix:
    """Classify ``trials`` fresh :func:`htrmt.ensembles.phase_example` matrices per phase and shape.

    Each (phase, shape) draws its matrices as one batch (``phase_example`` with a leading trial
    axis, one parameter draw per matrix) from its own fold of ``key``; ``Q = N/M``.

    Args:
        key: a ``jax.random`` key (use one not used for calibration: held-out seeds).
        phases: true phases to draw.
        shapes: ``(N, M)`` shapes, ``N >= M``.
        trials: matrices per (phase, shape), >= 1.
        thresholds: passed to :func:`classify`.
        dtype: float dtype of the matrices.

    Returns:
        A :class:`ConfusionMatrix`.

    Raises:
        ValueError: unknown phase, bad shape, ``trials < 1``.

    Example:
        >>> import jax, htrmt as ht
        >>> cm = ht.phases.confusion_matrix(jax.random.key(1), shapes=((600, 300),), trials=2)
        >>> cm.counts.shape
        (6, 6)
    """
    key = check_key(key)
    check_int(trials, "trials", ge=1)
    phases = tuple(phases)
    for p in phases:
        if p not in PHASES:
            raise ValueError(f"phases must contain only {list(PHASES)}, got {p!r}")
    shp = []
    for shape in shapes:
        s = check_shape(shape, "shapes")
        if len(s) != 2 or s[0] < s[1]:
            raise ValueError(f"each shape must be (N, M) with N >= M, got {s}")
        shp.append(s)
    labels = tuple(PHASES)
    total = np.zeros((len(phases), len(labels)), dtype=np.int64)
    per_shape = {}
    for si, (n, m) in enumerate(shp):
        counts = np.zeros_like(total)
        for pi, p in enumerate(phases):
            k = jax.random.fold_in(jax.random.fold_in(key, si), PHASES.index(p))
            lam = np.asarray(esd(phase_example(k, p, (trials, n, m), dtype=dtype)))
            for t in range(trials):
                verdict = classify(lam[t], n / m, thresholds=thresholds, fit_powerlaw=False).phase
                counts[pi, labels.index(verdict)] += 1
        per_shape[(n, m)] = counts
        total += counts
    return ConfusionMatrix(phases, labels, total, per_shape, tuple(shp), int(trials))
