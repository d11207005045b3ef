"""The Very Simple Deep Learning (VSDL) model: generalization in the load–temperature plane.

A network is summarised by a load α (examples per parameter; input noise lowers it) and a
temperature τ (early stopping, small batches and large learning rates raise it). Its phase
diagram comes from the statistical mechanics of teacher–student perceptrons learning by Gibbs
sampling on their number of training errors:

- :mod:`vsdl.theory`: annealed, high-temperature and quenched replica-symmetric theories, every
  branch of their saddle points, the first-order transition and its spinodal;
- :mod:`vsdl.simulation`: Monte Carlo Gibbs learning of finite-N perceptrons;
- :func:`vsdl.phase_diagram`: classification of the (α, τ) plane with its transition lines;
- :func:`vsdl.compute_diagram` / :func:`vsdl.load_diagram`: theory and Monte Carlo on a grid,
  saved to a folder and read back (what the ``vsdl diagram`` command and the figure call);
  :func:`vsdl.plot_diagram` draws one.

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
from ._plot import plot_diagram as plot_diagram
from ._saved import QUICK as QUICK
from ._saved import compute_diagram as compute_diagram
from ._saved import load_diagram as load_diagram

__all__ = [
    "PHASES",
    "QUICK",
    "PhaseDiagram",
    "compute_diagram",
    "load_diagram",
    "phase_diagram",
    "plot_diagram",
    "simulate_diagram",
    "simulation",
    "theory",
]
