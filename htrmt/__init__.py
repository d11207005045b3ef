"""htrmt: heavy-tailed random matrix theory in JAX.

Sample random matrices across the universality classes, compute their spectra and limiting
laws, fit power laws and Marchenko–Pastur bulks, and read neural-network weights through
Heavy-Tailed Self-Regularization (Martin & Mahoney).

Example:
    >>> import jax, htrmt as ht
    >>> W = ht.ensembles.pareto(jax.random.key(0), (1000, 500), mu=2.5)
    >>> lam = ht.esd(W)
"""

from importlib import import_module as _import_module

from . import ensembles as ensembles
from . import laws as laws
from . import spectra as spectra
from .spectra import esd as esd

__version__ = "0.1.0"

_LAZY = ("edge", "fit", "metrics", "phases", "networks", "sweep", "plotting", "cli", "hessian")


def __getattr__(name):  # lazy subpackages keep `import htrmt` fast
    if name in _LAZY:
        mod = _import_module(f"{__name__}.{name}")
        globals()[name] = mod
        return mod
    if name == "analyze":
        from .networks import analyze

        return analyze
    raise AttributeError(f"module 'htrmt' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY) + ["analyze"])
