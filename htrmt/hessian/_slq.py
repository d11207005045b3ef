"""Stochastic Lanczos quadrature (SLQ) for the spectral density of an implicit symmetric matrix."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jaxtyping import Array, Float

from .._checks import as_float_array, check_int, check_key, check_scalar
from ._lanczos import Tridiagonal, _lanczos, as_operator

__all__ = ["SpectralQuadrature", "slq"]


class SpectralQuadrature(eqx.Module):
    """SLQ estimate of the spectral measure ``(1/d) Σ_i δ(λ − λ_i)``: one Gauss rule per probe.

    Attributes:
        nodes: Ritz values, shape ``(num_probes, num_steps)``.
        weights: Gauss weights, same shape; each row sums to 1.
    """

    nodes: Float[Array, "p m"]
    weights: Float[Array, "p m"]

    @property
    def num_probes(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def num_steps(self) -> int:
        return int(self.nodes.shape[1])

    def density(self, x: Any, sigma: float) -> Float[Array, "..."]:
        """Gaussian-broadened density ``(1/p) Σ_probes Σ_j w_j N(x; θ_j, σ²)``.

        Raises:
            ValueError: ``sigma <= 0``, or ``sigma`` below the resolution of the rule: the mean
                spacing
                of the nodes ``(θ_max − θ_min)/num_steps`` over 4 (too few Lanczos steps for the
                requested accuracy).
        """
        check_scalar(sigma, "sigma", gt=0.0)
        spread = float(jnp.max(self.nodes) - jnp.min(self.nodes))
        if float(sigma) < spread / self.num_steps / 4:
            raise ValueError(
                f"too few Lanczos steps for the requested accuracy: sigma={sigma} is below a "
                f"quarter "
                f"of the node spacing {spread / self.num_steps:.3g} of a {self.num_steps}-step "
                "rule; "
                "increase num_steps or sigma"
            )
        x = as_float_array(x, "x", allow_int=True)
        dt = self.nodes.dtype
        s = jnp.asarray(sigma, dt)
        xx = x.astype(dt)[..., None, None]
        g = jnp.exp(-0.5 * ((xx - self.nodes) / s) ** 2) / (
            s * jnp.sqrt(jnp.asarray(2 * jnp.pi, dt))
        )
        return jnp.mean(jnp.sum(self.weights * g, -1), -1)

    def cdf(self, x: Any, sigma: float = 0.0) -> Float[Array, "..."]:
        """Cumulative distribution: the rule's step function (``sigma=0``) or Gaussian-broadened."""
        check_scalar(sigma, "sigma", ge=0.0)
        x = as_float_array(x, "x", allow_int=True)
        dt = self.nodes.dtype
        xx = x.astype(dt)[..., None, None]
        if float(sigma) == 0.0:
            step = (xx >= self.nodes).astype(dt)
        else:
            step = jsp.ndtr((xx - self.nodes) / jnp.asarray(sigma, dt))
        return jnp.mean(jnp.sum(self.weights * step, -1), -1)

    def moments(self, k: int) -> Array:
        """``(1/d) tr A^k`` estimated by the rule (exact per probe for ``k <= 2·num_steps − 1``)."""
        return jnp.mean(jnp.sum(self.weights * self.nodes**k, -1))


def slq(
    key: jax.Array,
    A: Any,
    *,
    num_steps: int = 80,
    num_probes: int = 10,
    reorthogonalize: bool = True,
    dim: int | None = None,
    dtype: Any = None,
) -> SpectralQuadrature:
    """Stochastic Lanczos quadrature of the spectral density of a symmetric operator.

    For each of ``num_probes`` Rademacher probe vectors ``v`` (normalised), ``m = num_steps``
    Lanczos
    steps give the Gauss quadrature of the measure ``Σ_i (v·u_i)² δ(λ − λ_i)``, whose average over
    probes is the spectral density ``(1/d) Σ_i δ(λ − λ_i)``.

    Args:
        key: ``jax.random`` key (split over the probes).
        A: an :class:`Operator` (e.g. :func:`hessian_operator`), a dense symmetric matrix, or a
            matvec.
        num_steps: Lanczos steps per probe (the resolution: ``m`` nodes per probe).
        num_probes: probe vectors (the statistical error of the CDF is ``~ 1/√(num_probes · d)``).
        reorthogonalize: full reorthogonalisation (default; memory ``num_steps · dim``).
        dim, dtype: for a plain matvec callable.

    Returns:
        :class:`SpectralQuadrature`, with ``.density(x, sigma)`` and ``.cdf(x)``.

    Raises:
        ValueError: ``num_steps`` outside ``[2, dim]``, ``num_probes < 1``.

    Example:
        >>> import jax, htrmt as ht
        >>> W = ht.ensembles.gaussian(jax.random.key(0), (400, 200))
        >>> q = ht.hessian.slq(jax.random.key(1), lambda v: W.T @ (W @ v) / 400, dim=200,
        ...                    num_steps=40, num_probes=4)
        >>> q.nodes.shape
        (4, 40)

    References:
        Golub & Meurant (2010), Matrices, Moments and Quadrature; Ubaru, Chen & Saad (2017), SIAM J.
        Matrix Anal. Appl. 38, 1075; Ghorbani, Krishnan & Xiao (2019), ICML (Hessian spectra).
    """
    key = check_key(key)
    op = as_operator(A, dim, dtype)
    num_steps = check_int(num_steps, "num_steps", ge=2)
    num_probes = check_int(num_probes, "num_probes", ge=1)
    if num_steps > op.dim:
        raise ValueError(f"num_steps must be <= dim={op.dim}, got num_steps={num_steps}")
    nodes, weights = [], []
    for k in jax.random.split(key, num_probes):
        v0 = jax.random.rademacher(k, (op.dim,), op.dtype)
        a, b = _lanczos(op.matvec, v0, num_steps, bool(reorthogonalize))
        th, w = Tridiagonal(a, b).quadrature()
        nodes.append(th)
        weights.append(w)
    return SpectralQuadrature(jnp.stack(nodes), jnp.stack(weights))
