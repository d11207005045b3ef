"""Theory of Gibbs learning in teacher–student perceptrons (the VSDL model's backbone).

Annealed approximation (any τ), high-temperature limit (α/τ fixed), quenched replica-symmetric
theory at τ = 0 (Ising and spherical weights) and at τ > 0 (spherical weights, ``q ≠ R``), with
every branch of the saddle-point equations, the replicon factor of each quenched branch, and
the frozen one-step RSB (entropy-crisis) glass of Ising weights at τ > 0 (:func:`frozen_rsb`).
"""

from ._rsb import STATUSES as RSB_STATUSES
from ._rsb import FrozenRSB as FrozenRSB
from ._rsb import frozen_rsb as frozen_rsb
from ._theory import MAX_BRANCHES as MAX_BRANCHES
from ._theory import MODELS as MODELS
from ._theory import THEORIES as THEORIES
from ._theory import Branches as Branches
from ._theory import CriticalLoad as CriticalLoad
from ._theory import ReplicaSymmetric as ReplicaSymmetric
from ._theory import branches as branches
from ._theory import critical_load as critical_load
from ._theory import free_entropy as free_entropy
from ._theory import generalization_error as generalization_error
from ._theory import psi as psi
from ._theory import replica_symmetric as replica_symmetric
from ._theory import stationary_load as stationary_load

__all__ = [
    "MODELS",
    "THEORIES",
    "MAX_BRANCHES",
    "RSB_STATUSES",
    "Branches",
    "CriticalLoad",
    "FrozenRSB",
    "ReplicaSymmetric",
    "branches",
    "critical_load",
    "free_entropy",
    "frozen_rsb",
    "generalization_error",
    "psi",
    "replica_symmetric",
    "stationary_load",
]
