"""Monte Carlo Gibbs learning of finite-N perceptrons (Ising and spherical weights)."""

from ._diagram import row_trial as row_trial
from ._diagram import simulate_diagram as simulate_diagram
from ._simulation import MIN_N as MIN_N
from ._simulation import MonteCarloResult as MonteCarloResult
from ._simulation import gibbs_learning as gibbs_learning
from ._simulation import integrated_autocorrelation_time as integrated_autocorrelation_time
from ._simulation import summarize as summarize
from ._simulation import trial as trial

__all__ = [
    "MIN_N",
    "MonteCarloResult",
    "gibbs_learning",
    "integrated_autocorrelation_time",
    "row_trial",
    "simulate_diagram",
    "summarize",
    "trial",
]
