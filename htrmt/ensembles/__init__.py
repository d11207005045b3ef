"""Random-matrix samplers across the universality classes.

Every sampler takes a ``jax.random`` key first and a static ``shape=(..., N, M)``; leading axes
are a batch of independent matrices. The dtype follows ``jax_enable_x64`` unless ``dtype=`` is
given.
"""

from ._classes import CLASS_TABLE as CLASS_TABLE
from ._classes import UniversalityClass as UniversalityClass
from ._classes import universality_class as universality_class
from ._correlated import correlated as correlated
from ._gaussian import gaussian as gaussian
from ._gaussian import wigner as wigner
from ._heavy_tailed import levy_stable as levy_stable
from ._heavy_tailed import pareto as pareto
from ._heavy_tailed import student_t as student_t
from ._phases import phase_example as phase_example
from ._spiked import low_rank_signal as low_rank_signal
from ._spiked import spiked_covariance as spiked_covariance
