"""Per-layer sparsity from the layers' ESD tails (AlphaPruning) and the pruners that apply it."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..act._layers import Layer, LayerFilter, select_layers
from ..act._metrics import LayerMetrics

__all__ = [
    "PruneResult",
    "SCORES",
    "alpha_pruning_ratios",
    "input_norms",
    "prune",
    "uniform_ratios",
]

#: the scores of :func:`prune`
SCORES = ("magnitude", "wanda")


def _check_sparsity(sparsity: Any) -> float:
    if (
        isinstance(sparsity, bool)
        or not isinstance(sparsity, int | float | np.floating)
        or not 0 <= float(sparsity) < 1
    ):
        raise ValueError(f"sparsity must be a number in [0, 1), got sparsity={sparsity!r}")
    return float(sparsity)


def _alpha_and_sizes(metrics: Any, num_params: Mapping[str, int] | None):
    if isinstance(metrics, LayerMetrics):
        names = list(metrics.names)
        alpha = np.asarray(jax.device_get(metrics.alpha), np.float64)
        sizes = np.asarray(metrics.num_params, np.float64)
        if num_params is not None:
            sizes = np.asarray([num_params[n] for n in names], np.float64)
        return names, alpha, sizes
    if isinstance(metrics, Mapping):
        names = list(metrics)
        alpha = np.asarray([float(metrics[n]) for n in names], np.float64)
        if num_params is None:
            raise ValueError("num_params is needed when metrics is a mapping {name: alpha}")
        missing = [n for n in names if n not in num_params]
        if missing:
            raise ValueError(f"num_params lacks layers {missing[:5]}")
        sizes = np.asarray([num_params[n] for n in names], np.float64)
        return names, alpha, sizes
    raise TypeError(
        f"metrics must be a LayerMetrics or a mapping {{name: alpha}}, got {type(metrics).__name__}"
    )


def _as_block(by_block: Any) -> Callable[[str], str] | None:
    if by_block is None:
        return None
    if isinstance(by_block, str):
        try:
            rx = re.compile(by_block)
        except re.error as err:
            raise ValueError(
                f"by_block is not a valid regex: by_block={by_block!r} ({err})"
            ) from None

        def f(name: str) -> str:
            mt = rx.search(name)
            if mt is None:
                return name  # a layer outside every block is its own block
            return mt.group(1) if rx.groups else mt.group(0)

        return f
    if callable(by_block):
        return by_block
    raise TypeError(f"by_block must be a regex, a callable or None, got by_block={by_block!r}")


def _rescale_to_target(r: np.ndarray, n: np.ndarray, target: float, cap: float) -> np.ndarray:
    """``min(c·r, cap)`` with ``c`` such that ``Σ n·min(c·r, cap) = target·Σ n`` exactly."""
    total = target * n.sum()
    if total == 0:
        return np.zeros_like(r)
    if cap * n.sum() < total:
        raise ValueError(f"a global sparsity {target} cannot be reached with ratios <= {cap}")
    c = total / np.sum(n * r)
    if np.all(c * r <= cap):
        return c * r
    # water-filling: clip the largest at the cap, rescale the others, until none exceeds it
    clipped = np.zeros(r.shape, bool)
    for _ in range(r.size):
        free = ~clipped
        rest = total - cap * n[clipped].sum()
        c = rest / np.sum(n[free] * r[free])
        new = free & (c * r > cap)
        if not new.any():
            break
        clipped |= new
    return np.where(clipped, cap, c * r)


def alpha_pruning_ratios(
    metrics: LayerMetrics | Mapping[str, float],
    sparsity: float,
    *,
    epsilon: float,
    by_block: str | Callable[[str], str] | None = None,
    num_params: Mapping[str, int] | None = None,
    max_ratio: float = 0.99,
) -> dict[str, float]:
    """AlphaPruning's per-layer sparsity: a linear map of α, rescaled to the global target.

    ``r_l = (1 − ε) + (α_l − α_min)/(α_max − α_min)·2ε``, then ``r_l ← r_l·S·Σn_l / Σn_l r_l``
    so that the parameter-weighted mean sparsity is exactly ``S``: a larger α (a less trained
    layer) is pruned more. With ``by_block``, each layer takes its block's mean α first (the
    paper's default, by decoder block). Ratios above ``max_ratio`` are set to it and the others
    rescaled so that the weighted mean stays exactly ``S`` (the published code does not clip;
    when nothing exceeds ``max_ratio`` the result is the same). All α equal gives the uniform
    allocation.

    Args:
        metrics: a :class:`htrmt.act.LayerMetrics` (its ``num_params`` are the weights) or a
            mapping ``{name: alpha}`` with ``num_params``.
        sparsity: the global target ``S`` in [0, 1).
        epsilon: ``ε`` in [0, 1) (0.2 to 0.5 in the paper, by model and pruner).
        by_block: a regex whose first group (or match) names a layer's block
            (``r"layers\\.(\\d+)\\."``), a callable ``name -> block``, or None (per layer).
        num_params: parameters per layer, overriding those of ``metrics``.
        max_ratio: the largest ratio of one layer (< 1).

    Returns:
        ``{layer name: sparsity ratio}``.

    Raises:
        ValueError: a bad argument (named), a non-finite α.

    Example:
        >>> import htrmt as ht
        >>> r = ht.pruning.alpha_pruning_ratios(
        ...     {"a": 2.0, "b": 3.0, "c": 4.0}, 0.5, epsilon=0.2,
        ...     num_params={"a": 100, "b": 100, "c": 100})
        >>> [round(v, 3) for v in r.values()]
        [0.4, 0.5, 0.6]

    References:
        Lu et al. (2024), "AlphaPruning: Using Heavy-Tailed Self Regularization Theory for
        Improved Layer-wise Pruning of Large Language Models", NeurIPS.
    """
    S = _check_sparsity(sparsity)
    if isinstance(epsilon, bool) or not isinstance(epsilon, int | float) or not 0 <= epsilon < 1:
        raise ValueError(f"epsilon must be a number in [0, 1), got epsilon={epsilon!r}")
    if not isinstance(max_ratio, int | float) or not S <= max_ratio < 1:
        raise ValueError(f"max_ratio must be in [sparsity, 1), got max_ratio={max_ratio!r}")
    names, alpha, n = _alpha_and_sizes(metrics, num_params)
    if not names:
        raise ValueError("metrics holds no layer")
    if not np.all(np.isfinite(alpha)):
        bad = [nm for nm, a in zip(names, alpha) if not math.isfinite(a)]
        raise ValueError(f"layers without a finite alpha: {bad[:5]} (drop them or fit them)")
    if np.any(n <= 0):
        raise ValueError("num_params must be positive for every layer")
    block = _as_block(by_block)
    if block is not None:
        keys = [block(nm) for nm in names]
        means = {k: float(np.mean([a for kk, a in zip(keys, alpha) if kk == k])) for k in keys}
        alpha = np.asarray([means[k] for k in keys])
    lo, hi = float(alpha.min()), float(alpha.max())
    if hi > lo:
        r = (1 - epsilon) + (alpha - lo) / (hi - lo) * (2 * epsilon)
    else:
        r = np.ones_like(alpha)
    out = _rescale_to_target(r, n, S, float(max_ratio))
    return dict(zip(names, out.tolist()))


def uniform_ratios(metrics_or_names: Any, sparsity: float) -> dict[str, float]:
    """The baseline: every layer at the global sparsity ``S``.

    Args:
        metrics_or_names: a :class:`htrmt.act.LayerMetrics`, a mapping keyed by layer, or a
            sequence of names.
        sparsity: ``S`` in [0, 1).
    """
    S = _check_sparsity(sparsity)
    if isinstance(metrics_or_names, LayerMetrics):
        names = list(metrics_or_names.names)
    else:
        names = list(metrics_or_names)
    return {nm: S for nm in names}


class PruneResult(eqx.Module):
    """The pruned parameters and the masks (True: kept).

    Attributes:
        params: the pytree with pruned entries set to zero (same structure and dtypes).
        masks: the same structure: a bool array for each pruned layer, None elsewhere.
        sparsity: ``{layer: fraction of zeros achieved}`` (static).
    """

    params: Any
    masks: Any
    sparsity: dict[str, float] = eqx.field(static=True)


def input_norms(activations: Any) -> Array:
    """Wanda's ``‖X_j‖₂`` per input feature: the root sum of squares over all leading axes.

    Args:
        activations: a layer's inputs, ``(..., in)`` (e.g. several calibration batches of
            tokens), or a list of such arrays (summed together).
    """
    if isinstance(activations, list | tuple):
        sq = sum(
            jnp.sum(jnp.square(jnp.asarray(a, jnp.float32)).reshape(-1, a.shape[-1]), 0)
            for a in activations
        )
    else:
        a = jnp.asarray(activations, jnp.float32)
        sq = jnp.sum(jnp.square(a).reshape(-1, a.shape[-1]), 0)
    return jnp.sqrt(sq)


def _on_host(w: Any) -> bool:
    """NumPy arrays and JAX arrays on CPU devices: their masks are sorted by NumPy (its stable
    sort is 2.5–3× faster than XLA's CPU sort); elsewhere XLA sorts on the device."""
    if isinstance(w, np.ndarray):
        return True
    try:
        return all(d.platform == "cpu" for d in w.devices())
    except AttributeError:  # not a concrete array
        return False


def _sortable(x: np.ndarray) -> np.ndarray:
    # 16-bit floats sort as float32 (the conversion is exact and keeps the order)
    return x.astype(np.float32) if x.dtype.itemsize < 4 else x


def _magnitude_mask(w: Any, ratio: float) -> Any:
    """Remove the ``⌊numel·ratio⌋`` smallest |w| of the whole layer (stable order)."""
    k = int(w.size * ratio)
    if _on_host(w):
        flat = _sortable(np.abs(np.asarray(w)).reshape(-1))
        keep = np.ones(flat.size, bool)
        keep[np.argsort(flat, kind="stable")[:k]] = False
        return keep.reshape(w.shape)
    return _magnitude_keep(w, jnp.asarray(k, jnp.int32))


@jax.jit
def _magnitude_keep(w: Array, k: Array) -> Array:
    # the entries at the first k positions of the stable order of |w| go; k is traced, so a
    # layer shape compiles once for every ratio
    order = jnp.argsort(jnp.abs(w).reshape(-1), stable=True)
    position = jnp.arange(order.size, dtype=order.dtype)
    keep = jnp.zeros(order.size, bool).at[order].set(position >= k.astype(order.dtype))
    return keep.reshape(w.shape)


def _wanda_mask(w2: Any, norms: Array, ratio: float) -> Any:
    """Wanda on an ``(out, in)`` matrix: per output row, remove the ``⌊in·ratio⌋`` smallest
    ``|W_ij|·‖X_j‖₂``."""
    k = int(w2.shape[1] * ratio)
    if _on_host(w2):
        score = _sortable(np.asarray(_wanda_score(w2, norms)))
        order = np.argsort(score, axis=1, kind="stable")[:, :k]
        keep = np.ones(score.shape, bool)
        np.put_along_axis(keep, order, False, axis=1)
        return keep
    return _wanda_keep(w2, norms, jnp.asarray(k, jnp.int32))


@jax.jit
def _wanda_score(w2: Array, norms: Array) -> Array:
    return jnp.abs(w2) * norms[None, :].astype(w2.dtype)


@jax.jit
def _wanda_keep(w2: Array, norms: Array, k: Array) -> Array:
    score = _wanda_score(w2, norms)
    order = jnp.argsort(score, axis=1, stable=True)
    position = jnp.arange(w2.shape[1], dtype=order.dtype)
    rows = jnp.arange(w2.shape[0])[:, None]
    keep = jnp.zeros(w2.shape, bool)
    return keep.at[rows, order].set(jnp.broadcast_to(position >= k.astype(order.dtype), w2.shape))


@jax.jit
def _apply_mask(w: Array, keep: Array) -> tuple[Array, Array]:
    return jnp.where(keep, w, jnp.zeros((), w.dtype)), jnp.sum(~keep, dtype=jnp.int32)


def prune(
    params: Any,
    ratios: Mapping[str, float],
    *,
    score: str = "magnitude",
    activations: Mapping[str, Any] | None = None,
    filter: LayerFilter = None,
) -> PruneResult:
    """Prune each layer of a pytree to its own sparsity; return the pruned pytree and masks.

    ``"magnitude"``: the ``⌊numel·r_l⌋`` entries of smallest |W| in the layer.
    ``"wanda"``: per output row, the ``⌊in·r_l⌋`` entries of smallest ``|W_ij|·‖X_j‖₂``, with
    ``‖X_j‖₂`` the norm of the layer's input feature j over the calibration data
    (:func:`input_norms`); dense layers only.

    Args:
        params: an equinox Module (or its array part), flax variables, an ``nnx.State``, or a
            state dict ``{name: array}`` (NumPy arrays come back as NumPy).
        ratios: ``{layer name: sparsity}`` (from :func:`alpha_pruning_ratios` or
            :func:`uniform_ratios`); layers not named are left dense.
        score: ``"magnitude"`` or ``"wanda"``.
        activations: for Wanda, ``{layer name: inputs (..., in) or norms (in,)}``.
        filter: which leaves are layers (:func:`htrmt.act.select_layers`).

    Returns:
        A :class:`PruneResult`.

    Raises:
        ValueError: a bad score or ratio, a ratio for a layer that is not selected, missing or
            mis-shaped activations.

    Example:
        >>> import jax, equinox as eqx, htrmt as ht
        >>> mlp = eqx.nn.MLP(8, 2, 16, 1, key=jax.random.key(0))
        >>> res = ht.pruning.prune(mlp, {"layers.0.weight": 0.5})
        >>> res.sparsity
        {'layers.0.weight': 0.5}
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {list(SCORES)}, got score={score!r}")
    if not isinstance(ratios, Mapping):
        raise TypeError(
            f"ratios must be a mapping {{layer: sparsity}}, got {type(ratios).__name__}"
        )
    layers = {lay.name: lay for lay in select_layers(params, filter)}
    unknown = [n for n in ratios if n not in layers]
    if unknown:
        raise ValueError(
            f"ratios names layers that are not selected: {unknown[:5]} "
            f"(layers: {sorted(layers)[:8]})"
        )
    for nm, r in ratios.items():
        if isinstance(r, bool) or not isinstance(r, int | float | np.floating) or not 0 <= r < 1:
            raise ValueError(f"ratios[{nm!r}] must be in [0, 1), got {r!r}")
    if score == "wanda" and activations is None:
        raise ValueError("score='wanda' needs activations={layer: inputs or norms}")
    leaves, treedef = jax.tree_util.tree_flatten(params)
    by_index: dict[int, Layer] = {lay.index: lay for lay in layers.values() if lay.name in ratios}
    new_leaves: list[Any] = []
    masks: list[Any] = []
    achieved: dict[str, float] = {}
    for i, leaf in enumerate(leaves):
        lay = by_index.get(i)
        if lay is None:
            new_leaves.append(leaf)
            masks.append(None)
            continue
        r = float(ratios[lay.name])
        w = jnp.asarray(leaf)
        if score == "magnitude":
            keep = _magnitude_mask(w, r)
        else:
            if lay.kind != "linear":
                raise ValueError(
                    f"score='wanda' applies to dense layers; {lay.name!r} is {lay.kind}"
                )
            assert activations is not None
            if lay.name not in activations:
                raise ValueError(f"activations lacks layer {lay.name!r}")
            act = activations[lay.name]
            shape = getattr(act, "shape", None)
            fan_in = lay.shape[lay.in_axis]
            if shape is None or shape[-1] != fan_in:
                raise ValueError(
                    f"activations[{lay.name!r}] must end in the layer's {fan_in} input features, "
                    f"got shape {shape}"
                )
            norms = jnp.asarray(act) if len(shape) == 1 else input_norms(act)
            w2 = w if lay.layout == "oi" else w.T
            keep = _wanda_mask(w2, norms, r)
            keep = keep if lay.layout == "oi" else keep.T
        keep = jnp.asarray(keep)
        pruned, removed = _apply_mask(w, keep)
        achieved[lay.name] = int(removed) / max(w.size, 1)
        mask: Any = keep
        if isinstance(leaf, np.ndarray):
            pruned, mask = np.asarray(pruned), np.asarray(keep)
        new_leaves.append(pruned)
        masks.append(mask)
    mask_tree = jax.tree_util.tree_unflatten(treedef, masks)
    return PruneResult(
        params=jax.tree_util.tree_unflatten(treedef, new_leaves), masks=mask_tree, sparsity=achieved
    )
