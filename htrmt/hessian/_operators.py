"""Matrix-free curvature operators of a model's loss: Hessian and Gauss–Newton products."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ._lanczos import Operator

__all__ = ["hessian_operator", "gauss_newton_operator", "split_params"]


def _is_nnx(model: Any) -> bool:
    try:
        from flax import nnx
    except ImportError:  # pragma: no cover - flax optional
        return False
    return isinstance(model, nnx.Module)


def split_params(model: Any) -> tuple[Any, Callable[[Any], Any]]:
    """Split a model into its trainable float parameters and a function rebuilding the model.

    equinox modules (and plain pytrees): ``eqx.partition(model, eqx.is_inexact_array)``; flax nnx
    modules: ``nnx.split(model, nnx.Param, ...)``.

    Returns:
        ``(params, rebuild)`` with ``rebuild(params) -> model``.
    """
    if _is_nnx(model):
        from flax import nnx

        graphdef, params, *rest = nnx.split(model, nnx.Param, ...)
        return params, lambda p: nnx.merge(graphdef, p, *rest)
    import equinox as eqx

    params, static = eqx.partition(model, eqx.is_inexact_array)
    return params, lambda p: eqx.combine(p, static)


def _flat(model):
    params, rebuild = split_params(model)
    flat, unravel = ravel_pytree(params)
    if flat.size < 2:
        raise ValueError(f"the model has {flat.size} float parameters; need at least 2")
    return flat, unravel, rebuild


def _check_scalar_out(fn, arg, name):
    out = jax.eval_shape(fn, arg)
    if not (hasattr(out, "shape") and out.shape == () and jnp.issubdtype(out.dtype, jnp.floating)):
        desc = getattr(out, "shape", type(out).__name__)
        raise ValueError(
            f"{name} must return a real scalar (a loss), got {desc!r}"
            + (f" of dtype {out.dtype}" if hasattr(out, "dtype") else "")
            + "; reduce it (e.g. with .mean())"
        )


def hessian_operator(loss_fn: Callable[[Any], Any], model: Any) -> Operator:
    """The loss Hessian ``∇²_θ L`` as a matrix-free operator (forward-over-reverse ``jvp(grad)``).

    Args:
        loss_fn: ``loss_fn(model) -> scalar`` (data closed over), for an equinox module, a flax nnx
            module or a plain pytree of parameters.
        model: the model at which the Hessian is taken.

    Returns:
        :class:`Operator` on the flattened float parameters (``jax.flatten_util.ravel_pytree``).

    Raises:
        ValueError: ``loss_fn`` does not return a real scalar.

    Example:
        >>> import jax, jax.numpy as jnp, htrmt as ht
        >>> p = {"w": jnp.ones(3)}
        >>> op = ht.hessian.hessian_operator(lambda m: jnp.sum(m["w"] ** 4), p)
        >>> op.matvec(jnp.ones(3)).tolist()
        [12.0, 12.0, 12.0]
    """
    flat, unravel, rebuild = _flat(model)

    def loss_flat(p):
        return loss_fn(rebuild(unravel(p)))

    _check_scalar_out(loss_flat, flat, "loss_fn")
    grad = jax.grad(loss_flat)

    @jax.jit
    def matvec(v):
        return jax.jvp(grad, (flat,), (v.astype(flat.dtype),))[1]

    return Operator(matvec, int(flat.size), flat.dtype, unravel)


def gauss_newton_operator(
    model_fn: Callable[[Any], Any], loss_of_outputs: Callable[[Any], Any], model: Any
) -> Operator:
    """The generalised Gauss–Newton matrix ``Jᵀ H_L J`` as a matrix-free operator.

    ``J`` is the Jacobian of the outputs ``model_fn(model)`` with respect to the parameters and
    ``H_L`` the Hessian of ``loss_of_outputs`` with respect to the outputs (positive semi-definite
    for
    a convex output loss such as cross-entropy or squared error). ``Jv`` by ``jax.linearize``,
    ``Jᵀu`` by its transpose, ``H_L u`` by ``jvp`` of ``grad``.

    Args:
        model_fn: ``model_fn(model) -> outputs`` (any pytree of arrays; data closed over).
        loss_of_outputs: ``loss_of_outputs(outputs) -> scalar``.
        model: equinox module, flax nnx module or pytree of parameters.

    Returns:
        :class:`Operator` on the flattened float parameters.

    Raises:
        ValueError: ``loss_of_outputs`` does not return a real scalar.
    """
    flat, unravel, rebuild = _flat(model)

    def f(p):
        return model_fn(rebuild(unravel(p)))

    out, f_jvp = jax.linearize(f, flat)
    _check_scalar_out(loss_of_outputs, out, "loss_of_outputs")
    f_vjp = jax.linear_transpose(f_jvp, flat)
    grad_L = jax.grad(loss_of_outputs)

    @jax.jit
    def matvec(v):
        Jv = f_jvp(v.astype(flat.dtype))
        HJv = jax.jvp(grad_L, (out,), (Jv,))[1]
        return f_vjp(HJv)[0]

    return Operator(matvec, int(flat.size), flat.dtype, unravel)
