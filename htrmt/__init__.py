"""htrmt: heavy-tailed random matrix theory in JAX.

Sample random matrices across the universality classes, compute their spectra and limiting
laws, fit power laws and Marchenko–Pastur bulks, and read neural-network weights through
Heavy-Tailed Self-Regularization (Martin & Mahoney).

Every subpackage is imported on first use (``import htrmt`` itself imports neither JAX nor
numpy), so the ``htrmt`` command answers ``--help`` at once.

Example:
    >>> import jax, htrmt as ht
    >>> W = ht.ensembles.pareto(jax.random.key(0), (1000, 500), mu=2.5)
    >>> lam = ht.esd(W)
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("htrmt")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


__version__ = _installed_version()

_SUBPACKAGES = (
    "act",
    "cli",
    "edge",
    "ensembles",
    "fit",
    "hessian",
    "laws",
    "metrics",
    "networks",
    "phases",
    "plotting",
    "pruning",
    "spectra",
    "sweep",
    "training",
)
# public functions re-exported at the top level: name -> submodule that defines it
_FUNCTIONS = {
    "analyze": "networks",
    "enable_compilation_cache": "_cache",
    "esd": "spectra",
    "Status": "_status",
}

if TYPE_CHECKING:  # what static checkers see; at run time `__getattr__` imports on first use
    from . import act as act
    from . import cli as cli
    from . import edge as edge
    from . import ensembles as ensembles
    from . import fit as fit
    from . import hessian as hessian
    from . import laws as laws
    from . import metrics as metrics
    from . import networks as networks
    from . import phases as phases
    from . import plotting as plotting
    from . import pruning as pruning
    from . import spectra as spectra
    from . import sweep as sweep
    from . import training as training
    from ._cache import enable_compilation_cache as enable_compilation_cache
    from ._status import Status as Status
    from .networks import analyze as analyze
    from .spectra import esd as esd


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return _import_module(f"{__name__}.{name}")  # the import binds it in this namespace
    if name in _FUNCTIONS:
        value = getattr(_import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SUBPACKAGES) | set(_FUNCTIONS))
