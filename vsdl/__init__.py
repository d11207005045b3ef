"""The Very Simple Deep Learning (VSDL) model: generalization in the load–temperature plane.

A network is summarised by a load α (examples per parameter; input noise lowers it) and a
temperature τ (early stopping, small batches and large learning rates raise it). Its phase
diagram comes from the statistical mechanics of teacher–student perceptrons learning by Gibbs
sampling on their number of training errors:

- :mod:`vsdl.theory`: annealed, high-temperature and quenched replica-symmetric theories, every
  branch of their saddle points, the first-order transition and its spinodal;
- :mod:`vsdl.simulation`: Monte Carlo Gibbs learning of finite-N perceptrons;
- :func:`vsdl.phase_diagram`: classification of the (α, τ) plane with its transition lines.

Example:
    >>> import vsdl
    >>> round(float(vsdl.theory.critical_load(model="ising", theory="quenched").alpha_c), 3)
    1.245
"""

from . import simulation as simulation
from . import theory as theory
from ._diagram import PHASES as PHASES
from ._diagram import PhaseDiagram as PhaseDiagram
from ._diagram import phase_diagram as phase_diagram
from ._diagram import simulate_diagram as simulate_diagram

__all__ = ["PHASES", "PhaseDiagram", "phase_diagram", "simulate_diagram", "simulation", "theory"]
