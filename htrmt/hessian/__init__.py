"""Spectra of implicit matrices: loss Hessians and Gauss–Newton matrices of networks, by Lanczos.

- ``hessian_operator(loss_fn, model)``, ``gauss_newton_operator(model_fn, loss_of_outputs, model)``:
  matrix-free operators (``jax.jvp`` of ``jax.grad``; ``jax.linearize`` and its transpose) on the
  flattened parameters of equinox modules, flax nnx modules or plain pytrees.
- ``lanczos``: tridiagonalisation with optional full reorthogonalisation; ``top_eigenvalues``.
- ``slq``: stochastic Lanczos quadrature of the spectral density (nodes and weights,
  Gaussian-broadened density, CDF).
"""

from ._lanczos import Operator as Operator
from ._lanczos import TopEigenvalues as TopEigenvalues
from ._lanczos import Tridiagonal as Tridiagonal
from ._lanczos import as_operator as as_operator
from ._lanczos import lanczos as lanczos
from ._lanczos import top_eigenvalues as top_eigenvalues
from ._operators import gauss_newton_operator as gauss_newton_operator
from ._operators import hessian_operator as hessian_operator
from ._operators import split_params as split_params
from ._slq import SpectralQuadrature as SpectralQuadrature
from ._slq import slq as slq

__all__ = [
    "Operator",
    "SpectralQuadrature",
    "TopEigenvalues",
    "Tridiagonal",
    "as_operator",
    "gauss_newton_operator",
    "hessian_operator",
    "lanczos",
    "slq",
    "split_params",
    "top_eigenvalues",
]
