"""Per-layer HT-SR metrics of a parameter pytree, on the device, inside a training step."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Bool, Float, Int

from .._status import Status, first_failure
from ._estimator import HILL_STATUS, Estimator, get_estimator, hill_fit, layer_esd, num_evals
from ._layers import Layer, LayerFilter, as_slices, select_layers

__all__ = ["LayerMetrics", "layer_metrics", "metrics_of_layers"]

#: ``LayerMetrics.status`` codes: those of :data:`HILL_STATUS` then ``"too-small"``
STATUS = {**HILL_STATUS, int(Status.TOO_SMALL): Status.TOO_SMALL.label}


class LayerMetrics(eqx.Module):
    """Per-layer metrics of a model, one entry per selected layer (leaf order).

    Attributes:
        names: dotted names of the layers (static).
        num_params: parameters of each layer (static).
        alpha, D, xmin, num_tail, num_evals, lambda_max, frobenius, alpha_hat, stable_rank:
            as in :class:`htrmt.act.HillFit`, shape ``(num_layers,)``.
        size: eigenvalues of each layer's ESD before the filter (static count, as an array).
        included: the layer has at least ``eigs_thresh`` eigenvalues (the methods assign it).
        status: index into :data:`STATUS` (``"too-small"`` for layers left out).
    """

    names: tuple[str, ...] = eqx.field(static=True)
    num_params: tuple[int, ...] = eqx.field(static=True)
    alpha: Float[Array, " n"]
    D: Float[Array, " n"]
    xmin: Float[Array, " n"]
    num_tail: Int[Array, " n"]
    num_evals: Int[Array, " n"]
    lambda_max: Float[Array, " n"]
    frobenius: Float[Array, " n"]
    alpha_hat: Float[Array, " n"]
    stable_rank: Float[Array, " n"]
    size: Int[Array, " n"]
    included: Bool[Array, " n"]
    status: Int[Array, " n"]

    def __len__(self) -> int:
        return len(self.names)

    @property
    def ok(self) -> Bool[Array, " n"]:
        """Per layer: fitted (``status`` is ``Status.OK``)."""
        return self.status == int(Status.OK)

    @property
    def message(self) -> str:
        """The first failure among the layers (concrete status), or ``"ok"``."""
        return first_failure(self.status).message

    def as_dict(self, field: str = "alpha") -> dict[str, float]:
        """``{name: value}`` of one field (host only)."""
        vals = getattr(self, field)
        if isinstance(vals, jax.core.Tracer):
            raise TypeError("as_dict reads values: call it outside jit")
        return {n: float(v) for n, v in zip(self.names, vals.tolist())}

    def to_pandas(self):
        """A pandas DataFrame, one row per layer (host only)."""
        import pandas as pd

        cols = [
            "alpha", "D", "xmin", "num_tail", "num_evals", "lambda_max", "frobenius",
            "alpha_hat", "stable_rank", "size", "included",
        ]  # fmt: skip
        df = pd.DataFrame({c: jax.device_get(getattr(self, c)) for c in cols})
        df.insert(0, "num_params", list(self.num_params))
        df.insert(0, "name", list(self.names))
        df["status"] = [STATUS[int(s)] for s in jax.device_get(self.status)]
        return df


def _after(x: Array, dep: Array) -> Array:
    """``x`` unchanged, computed only once ``dep`` is: one batched eigensolver at a time.

    jaxlib's CPU LAPACK kernels (0.10) split a batch over XLA's intra-op thread pool and block
    a pool thread until the batch is done, so as many independent batched ``eigvalsh``/``svd``
    calls running at once as the pool has threads (two on a 2-core machine) deadlock it. XLA's
    CPU runtime does not order independent operations by ``optimization_barrier``; a data
    dependency does. ``0·Σdep`` is not folded for floats (NaN semantics) and NaN/Inf are mapped
    to 0, so ``x`` is unchanged bit for bit except that -0.0 becomes 0.0.
    """
    z = jnp.sum(dep).astype(x.dtype) * jnp.zeros((), x.dtype)
    return x + jnp.where(jnp.isfinite(z), z, jnp.zeros((), x.dtype))


def metrics_of_layers(
    leaves: list[Any], layers: tuple[Layer, ...], estimator: Estimator
) -> LayerMetrics:
    """:class:`LayerMetrics` of ``leaves`` (all leaves of the pytree, ``tree_leaves`` order) at
    the positions ``layers`` name (traceable; layers of one shape and dtype share one vmap).

    The output dtype of a mixed-dtype model is the widest of its layers' ESD dtypes.
    """
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for j, lay in enumerate(layers):
        groups[(lay.slices_shape, jnp.result_type(leaves[lay.index]))].append(j)
    parts: dict[int, Any] = {}
    previous = None
    for members in groups.values():
        mats = jnp.stack([as_slices(leaves[layers[j].index], layers[j]) for j in members])
        if previous is not None:
            mats = _after(mats, previous)
        fits = jax.vmap(lambda m: hill_fit(layer_esd(m, estimator), estimator))(mats)
        previous = fits.alpha
        for k, j in enumerate(members):
            parts[j] = jax.tree_util.tree_map(lambda a, k=k: a[k], fits)
    wide = max((parts[j].alpha.dtype for j in parts), key=lambda d: jnp.finfo(d).bits)

    def widen(x):
        return x.astype(wide) if jnp.issubdtype(x.dtype, jnp.floating) else x

    ordered = [jax.tree_util.tree_map(widen, parts[j]) for j in range(len(layers))]
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *ordered)
    size = jnp.asarray([num_evals(lay.slices_shape, estimator) for lay in layers], jnp.int32)
    included = size >= estimator.eigs_thresh
    status = jnp.where(included, stacked.status, int(Status.TOO_SMALL)).astype(jnp.int32)
    return LayerMetrics(
        names=tuple(lay.name for lay in layers),
        num_params=tuple(lay.num_params for lay in layers),
        alpha=stacked.alpha,
        D=stacked.D,
        xmin=stacked.xmin,
        num_tail=stacked.num_tail,
        num_evals=stacked.num_evals,
        lambda_max=stacked.lambda_max,
        frobenius=stacked.frobenius,
        alpha_hat=stacked.alpha_hat,
        stable_rank=stacked.stable_rank,
        size=size,
        included=included,
        status=status,
    )


@eqx.filter_jit
def _layer_metrics_jit(params: Any, estimator: Estimator, filter: Any) -> LayerMetrics:
    layers = select_layers(params, filter)
    leaves = jax.tree_util.tree_leaves(params)
    return metrics_of_layers(leaves, layers, estimator)


def layer_metrics(
    params: Any,
    *,
    estimator: str | Estimator = "tempbalance",
    filter: LayerFilter = None,
) -> LayerMetrics:
    """Per-layer HT-SR metrics of a parameter pytree, computed on the device in one program.

    Layers of the same shape are stacked and fitted by one ``vmap``; all layers are compiled
    into one XLA program (cached per pytree structure, shapes, estimator and filter), so there
    is no host round trip per layer. Traceable: call it inside a jitted training step.

    Args:
        params: an equinox Module (or ``eqx.filter(model, eqx.is_array)``), flax linen
            variables, an ``nnx.State`` or a dict of arrays. Only the selected leaves are read.
        estimator: an :class:`htrmt.act.Estimator` or a name in :data:`htrmt.act.ESTIMATORS`.
        filter: which leaves are layers (see :func:`htrmt.act.select_layers`). Must be
            hashable (a string, a tuple of names or a function defined once): it is a static
            argument, and a new value compiles anew.

    Returns:
        A :class:`LayerMetrics` (arrays of shape ``(num_layers,)``).

    Raises:
        ValueError: no leaf is selected; a bad estimator name.

    Example:
        >>> import jax, equinox as eqx, htrmt as ht
        >>> mlp = eqx.nn.MLP(64, 10, 128, 2, key=jax.random.key(0))
        >>> m = ht.act.layer_metrics(eqx.filter(mlp, eqx.is_array))
        >>> m.names, m.alpha.shape
        (('layers.0.weight', 'layers.1.weight', 'layers.2.weight'), (3,))
    """
    est = get_estimator(estimator)
    if isinstance(filter, list):
        filter = tuple(filter)
    return _layer_metrics_jit(params, est, filter)
