"""The 5+1 phases of training (Martin & Mahoney): a classifier with its evidence.

``classify(evals, Q)`` (host) returns a verdict among random-like, bleeding-out, bulk+spikes,
bulk-decay, heavy-tailed and rank-collapse, with the fits and counts behind it;
``confusion_matrix`` measures it on ``htrmt.ensembles.phase_example`` matrices.
``evidence(evals, Q)`` is the same verdict and features as arrays, under ``jit`` and ``vmap``.
"""

from ._classify import PHASES as PHASES
from ._classify import PhaseResult as PhaseResult
from ._classify import PhaseThresholds as PhaseThresholds
from ._classify import classify as classify
from ._confusion import ConfusionMatrix as ConfusionMatrix
from ._confusion import confusion_matrix as confusion_matrix
from ._evidence import PhaseEvidence as PhaseEvidence
from ._evidence import evidence as evidence

__all__ = [
    "PHASES",
    "PhaseEvidence",
    "evidence",
    "PhaseResult",
    "PhaseThresholds",
    "classify",
    "ConfusionMatrix",
    "confusion_matrix",
]
