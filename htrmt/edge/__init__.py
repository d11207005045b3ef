"""The spectral edge: λ_max samplers, Tracy–Widom scalings, heavy-tailed (Fréchet) edges.

- ``largest_eigenvalues``: λ_max of ``WᵀW/N`` for Gaussian W (dense, or the Dumitriu–Edelman
  tridiagonal β-Laguerre model truncated to its top ~10·M^{1/3} rows: any N, any β > 0).
- ``wigner_largest_eigenvalues``: the same for Wigner (β-Hermite) matrices.
- ``tw_scaling`` (Johnstone / Johansson, Ma, El Karoui) and ``wigner_tw_scaling``: centre and
  scale so that ``(λ_max − centre)/scale ≈ TW_β``.
- heavy tails: ``pareto_largest_eigenvalues``, the Fréchet law ``frechet`` (a module of
  functions; ``frechet_law`` gives its parameters for λ_max as a ``FrechetLaw``) and
  ``edge_regime`` (Fréchet for µ < 4, Tracy–Widom for µ > 4).
- moderately heavy tails (µ > 2): ``moderate_edge_law`` (largest entries through the BBP
  map, merged with the Tracy–Widom bulk edge; a ``ModerateEdgeLaw``) and ``lomax_spike``.
"""

from . import _frechet as frechet
from ._heavy import EdgeRegime as EdgeRegime
from ._heavy import FrechetLaw as FrechetLaw
from ._heavy import edge_regime as edge_regime
from ._heavy import frechet_law as frechet_law
from ._heavy import max_entry_cdf as max_entry_cdf
from ._heavy import pareto_largest_eigenvalues as pareto_largest_eigenvalues
from ._moderate import ModerateEdgeLaw as ModerateEdgeLaw
from ._moderate import lomax_spike as lomax_spike
from ._moderate import moderate_edge_law as moderate_edge_law
from ._sampler import largest_eigenvalues as largest_eigenvalues
from ._sampler import wigner_largest_eigenvalues as wigner_largest_eigenvalues
from ._scaling import TWScaling as TWScaling
from ._scaling import tw_scaling as tw_scaling
from ._scaling import tw_standardize as tw_standardize
from ._scaling import wigner_tw_scaling as wigner_tw_scaling

__all__ = [
    "EdgeRegime",
    "FrechetLaw",
    "ModerateEdgeLaw",
    "TWScaling",
    "edge_regime",
    "frechet",
    "frechet_law",
    "largest_eigenvalues",
    "lomax_spike",
    "max_entry_cdf",
    "moderate_edge_law",
    "pareto_largest_eigenvalues",
    "tw_scaling",
    "tw_standardize",
    "wigner_largest_eigenvalues",
    "wigner_tw_scaling",
]
