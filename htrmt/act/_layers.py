"""Which leaves of a parameter pytree are layers, and how to read them as ``(S, out, in)``.

Host-side and static: the selection depends only on the pytree's structure, names and shapes,
so it is recomputed at trace time at no cost and never touches values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Layer", "LayerFilter", "leaf_names", "select_layers", "as_slices"]

#: a filter: a regex (``re.search`` on the dotted name), a list of names, or ``f(name, leaf)``
LayerFilter = Callable[[str, Any], bool] | str | list[str] | tuple[str, ...] | None

_NORM = re.compile(r"(^|[._])(norm|ln|bn|layernorm|batchnorm|rmsnorm)", re.IGNORECASE)
_EMBED = re.compile(r"embed", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Layer:
    """One selected leaf.

    Attributes:
        name: dotted path (``"layers.0.weight"``, ``"Dense_0.kernel"``).
        index: position among the pytree's leaves (``jax.tree_util.tree_leaves`` order).
        kind: ``"linear"`` or ``"conv2d"``.
        layout: ``"oi"`` (out, in: equinox, PyTorch), ``"io"`` (flax kernels), ``"oihw"`` or
            ``"hwio"``.
        shape: the leaf's shape.
        parent: dotted path of the module holding it (its siblings, e.g. the bias, follow it).
    """

    name: str
    index: int
    kind: str
    layout: str
    shape: tuple[int, ...]
    parent: str

    @property
    def num_params(self) -> int:
        return int(np.prod(self.shape))

    @property
    def slices_shape(self) -> tuple[int, int, int]:
        """``(S, out, in)`` of :func:`as_slices`."""
        s = self.shape
        if self.layout == "oi":
            return (1, s[0], s[1])
        if self.layout == "io":
            return (1, s[1], s[0])
        if self.layout == "oihw":
            return (s[2] * s[3], s[0], s[1])
        return (s[0] * s[1], s[3], s[2])

    @property
    def in_axis(self) -> int:
        """The axis of the leaf indexing input features (Wanda's channels)."""
        return {"oi": 1, "io": 0, "oihw": 1, "hwio": 2}[self.layout]


def _key_name(k: Any) -> str:
    for attr in ("name", "key", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _path_parts(path: tuple[Any, ...]) -> list[str]:
    parts = [_key_name(k) for k in path]
    if parts and parts[-1] == "value":  # flax nnx Variable
        parts = parts[:-1]
    return parts


def leaf_names(tree: Any) -> list[str]:
    """Dotted names of the leaves of ``tree``, in ``tree_leaves`` order."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [".".join(_path_parts(p)) for p, _ in flat]


def _parent_object(root: Any, path: tuple[Any, ...]) -> Any:
    obj = root
    try:
        for k in path[:-1]:
            if isinstance(k, jax.tree_util.GetAttrKey):
                obj = getattr(obj, k.name)
            elif isinstance(k, jax.tree_util.SequenceKey):
                obj = obj[k.idx]
            elif isinstance(k, jax.tree_util.DictKey):
                obj = obj[k.key]
            else:
                return None
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    return obj


def _equinox_kind(parent: Any, last: str) -> str | None:
    """``"linear"``/``"conv2d"``/``"skip"`` for an equinox module's leaf, None if not equinox."""
    try:
        import equinox as eqx
    except ImportError:  # pragma: no cover
        return None
    if not isinstance(parent, eqx.Module):
        return None
    if last != "weight":
        return "skip"
    if isinstance(parent, eqx.nn.Linear):
        return "linear"
    if isinstance(parent, eqx.nn.Conv) and not isinstance(parent, eqx.nn.ConvTranspose):
        return "conv2d" if parent.num_spatial_dims == 2 else "skip"
    return "skip"


def _classify(root: Any, path: tuple[Any, ...], leaf: Any) -> tuple[str, str] | None:
    """``(kind, layout)`` of a leaf under the default rules, or None."""
    shape = getattr(leaf, "shape", None)
    dtype = getattr(leaf, "dtype", None)
    if shape is None or dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        return None
    parts = _path_parts(path)
    if not parts:
        return None
    last = parts[-1].rsplit(".", 1)[-1]  # a flat state-dict key "conv1.weight"
    name = ".".join(parts)
    ek = _equinox_kind(_parent_object(root, path), last)
    if ek == "skip":
        return None
    if ek is not None:
        return (ek, "oi" if ek == "linear" else "oihw")
    if _EMBED.search(name) or _NORM.search(name):
        return None
    if last == "kernel":
        if len(shape) == 2:
            return ("linear", "io")
        if len(shape) == 4:
            return ("conv2d", "hwio")
    if last == "weight":
        if len(shape) == 2:
            return ("linear", "oi")
        if len(shape) == 4:
            return ("conv2d", "oihw")
    return None


def _layout_for(root: Any, path: tuple[Any, ...], leaf: Any) -> tuple[str, str] | None:
    """``(kind, layout)`` of a leaf a user filter chose (any 2-D or 4-D float array)."""
    got = _classify(root, path, leaf)
    if got is not None:
        return got
    shape = getattr(leaf, "shape", ())
    dtype = getattr(leaf, "dtype", None)
    if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
        return None
    last = _path_parts(path)[-1] if path else ""
    flax_like = last.endswith("kernel")
    if len(shape) == 2:
        return ("linear", "io" if flax_like else "oi")
    if len(shape) == 4:
        return ("conv2d", "hwio" if flax_like else "oihw")
    return None


def _as_predicate(layers: LayerFilter, name: str = "filter") -> Callable[[str, Any], bool] | None:
    if layers is None:
        return None
    if isinstance(layers, str):
        try:
            rx = re.compile(layers)
        except re.error as err:
            raise ValueError(f"{name} is not a valid regex: {name}={layers!r} ({err})") from None
        return lambda n, leaf: rx.search(n) is not None
    if isinstance(layers, list | tuple):
        names = set(layers)
        if not all(isinstance(x, str) for x in names):
            raise TypeError(f"{name} as a list must hold names (str), got {name}={layers!r}")
        return lambda n, leaf: n in names
    if callable(layers):
        return layers
    raise TypeError(
        f"{name} must be a regex, a list of names, a callable (name, leaf) -> bool or None, "
        f"got {name}={layers!r}"
    )


def select_layers(params: Any, filter: LayerFilter = None) -> tuple[Layer, ...]:
    """The layers of a parameter pytree, in leaf order.

    By default: the ``weight`` of every ``eqx.nn.Linear`` and 2-D ``eqx.nn.Conv``; in dicts and
    flax states, 2-D and 4-D ``kernel`` (flax layout) and ``weight`` (PyTorch layout) leaves
    whose names do not mention an embedding or a norm. With ``filter``, every 2-D or 4-D float
    leaf it accepts (a regex on the dotted name, a list of names, or ``f(name, leaf)``).

    Args:
        params: an equinox Module (or ``eqx.filter(model, eqx.is_array)``), a flax linen
            variables dict, an ``nnx.State``, or a dict of arrays (a state dict).
        filter: which leaves are layers (see above).

    Returns:
        A tuple of :class:`Layer`.

    Raises:
        ValueError: no leaf is selected.

    Example:
        >>> import jax, equinox as eqx, htrmt as ht
        >>> mlp = eqx.nn.MLP(8, 2, 16, 2, key=jax.random.key(0))
        >>> [l.name for l in ht.act.select_layers(mlp)]
        ['layers.0.weight', 'layers.1.weight', 'layers.2.weight']
    """
    pred = _as_predicate(filter)
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    out = []
    for i, (path, leaf) in enumerate(flat):
        parts = _path_parts(path)
        name = ".".join(parts)
        if pred is None:
            got = _classify(params, path, leaf)
        else:
            got = _layout_for(params, path, leaf) if pred(name, leaf) else None
        if got is None:
            continue
        kind, layout = got
        parent = ".".join(parts[:-1]) if len(parts) > 1 else parts[0].rsplit(".", 1)[0]
        out.append(Layer(name, i, kind, layout, tuple(int(s) for s in leaf.shape), parent))
    if not out:
        what = "the default rules" if filter is None else f"filter={filter!r}"
        raise ValueError(
            f"no layer selected in the parameter pytree by {what} (leaves: "
            f"{leaf_names(params)[:8]}{'...' if len(flat) > 8 else ''})"
        )
    return tuple(out)


def as_slices(leaf: Any, layer: Layer) -> Any:
    """The leaf as ``(S, out, in)`` matrices (conv kernels cut into spatial slices)."""
    w = jnp.asarray(leaf)
    if layer.layout == "oi":
        return w[None]
    if layer.layout == "io":
        return w.T[None]
    if layer.layout == "oihw":
        o, i, h, k = w.shape
        return jnp.transpose(w, (2, 3, 0, 1)).reshape(h * k, o, i)
    h, k, i, o = w.shape
    return jnp.transpose(w.reshape(h * k, i, o), (0, 2, 1))
