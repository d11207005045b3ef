"""Limiting and local spectral laws, read like ``scipy.stats``.

- ``marchenko_pastur``: ESD of ``WᵀW/N`` for i.i.d. entries (module of functions).
- ``semicircle`` and ``quarter_circle``: Wigner eigenvalues, square-matrix singular values.
- ``bbp``: spikes leaving the bulk, covariance and additive low-rank models.
- ``tracy_widom``: TW₁, TW₂, TW₄ to machine precision (Fredholm determinants, Chebyshev tables).
- ``levy``: heavy-tailed (Lévy) spectral densities by population dynamics on the cavity
  recursion (Wishart and Wigner, finite N and N → ∞).
"""

from . import _bbp as bbp
from . import _levy as levy
from . import _marchenko_pastur as marchenko_pastur
from . import _quarter_circle as quarter_circle
from . import _semicircle as semicircle
from . import _tracy_widom as tracy_widom

__all__ = ["bbp", "levy", "marchenko_pastur", "quarter_circle", "semicircle", "tracy_widom"]
