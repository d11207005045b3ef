"""Extraction of named weight matrices from equinox, flax, PyTorch and plain array containers.

Every extracted layer is stored in the ``(out, in)`` orientation of ``equinox.nn.Linear`` and
``torch.nn.Linear``: flax kernels, which are ``(in, out)``, are transposed on the way in. The
orientation does not change the spectrum (``htrmt.esd`` orders the axes so that ``N >= M``); it
only makes the ``out``/``in`` columns of the report mean the same thing in every framework.

Convolution kernels are cut into their spatial slices (one ``out × in`` matrix per kernel
position, the convention of the Heavy-Tailed Self-Regularization papers), or flattened into one
``out × (in · prod(kernel))`` matrix with ``conv="flatten"``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["LayerWeights", "Skipped", "Extraction", "extract", "CONV_MODES"]

CONV_MODES = ("slices", "flatten")

_LSTM_GATES = ("i", "f", "g", "o")  # equinox and torch order: input, forget, cell, output
_GRU_GATES = ("r", "z", "n")  # equinox and torch order: reset, update, new
_EQX_ATTENTION = ("query_proj", "key_proj", "value_proj", "output_proj")


@dataclasses.dataclass(frozen=True)
class LayerWeights:
    """One analysable layer: one matrix, or a stack of equally shaped conv slices.

    Attributes:
        name: dotted name from the pytree / state-dict path (``"layers.0.weight"``).
        kind: ``"linear"``, ``"conv1d"``, ``"conv2d"``, ``"conv3d"``, ``"conv_transpose{d}d"``,
            ``"embedding"``, ``"attention"``, ``"lstm_gate"``, ``"gru_gate"`` or ``"matrix"``
            (a 2-D array of unknown role).
        matrices: array of shape ``(S, out, in)``: ``S = 1`` for a dense matrix,
            ``S = prod(kernel)`` for a conv kernel cut into spatial slices.
        source_shape: shape of the parameter as stored by its framework.
        note: how the parameter was converted (e.g. ``"flax kernel (in, out) transposed"``).
    """

    name: str
    kind: str
    matrices: np.ndarray
    source_shape: tuple[int, ...]
    note: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        """``(out, in)`` of one matrix (one slice for convolutions)."""
        return (int(self.matrices.shape[1]), int(self.matrices.shape[2]))

    @property
    def num_slices(self) -> int:
        return int(self.matrices.shape[0])


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A parameter that is not analysed, and why (bias, norm scale, 1-D, non-float...)."""

    name: str
    shape: tuple[int, ...]
    reason: str


@dataclasses.dataclass(frozen=True)
class Extraction:
    """The weight matrices found in a model, and the parameters left out.

    Attributes:
        layers: the analysable layers in the order they appear in the model.
        skipped: every other parameter with the reason it was left out.
        framework: ``"equinox"``, ``"flax.nnx"``, ``"flax.linen"``, ``"torch"``, ``"arrays"``,
            ``"npz"``, ``"safetensors"``.
    """

    layers: tuple[LayerWeights, ...]
    skipped: tuple[Skipped, ...]
    framework: str

    def names(self) -> list[str]:
        return [layer.name for layer in self.layers]

    def __getitem__(self, name: str) -> LayerWeights:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {self.names()}")


# ---------------------------------------------------------------------------------------------
# numpy helpers


def _tensor_numpy(x: Any) -> np.ndarray:
    """A numpy view of a tensor that is known to be an array (a module's parameter)."""
    a = _to_numpy(x)
    if a is None:
        raise TypeError(f"expected an array-like parameter, got {type(x).__name__}")
    return a


def _to_numpy(x: Any) -> np.ndarray | None:
    """A numpy view of an array-like leaf, or None when the leaf is not an array."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):  # torch tensor
        t = x.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    if hasattr(x, "__array__") and hasattr(x, "shape") and hasattr(x, "dtype"):
        try:
            return np.asarray(x)
        except Exception:  # abstract arrays (ShapeDtypeStruct, tracers)
            return None
    return None


def _float(a: np.ndarray) -> np.ndarray:
    if a.dtype.name in ("bfloat16", "float16"):
        return a.astype(np.float32)
    return a


def _conv_matrices(w: np.ndarray, conv: str, layout: str) -> tuple[np.ndarray, str]:
    from ._layout import conv_matrices

    return conv_matrices(w, conv, layout)


# ---------------------------------------------------------------------------------------------
# the collector


class _Collector:
    def __init__(self, conv: str, framework: str, kinds: Any = None, split_qkv: bool = False):
        from ._layout import compile_kinds

        self.conv = conv
        self.framework = framework
        self.kinds = compile_kinds(kinds)
        self.split_qkv = split_qkv
        self.gpt2_conv1d = False
        self.layers: list[LayerWeights] = []
        self.skipped: list[Skipped] = []
        self._seen: dict[tuple, str] = {}

    def skip(self, name: str, arr: Any, reason: str) -> None:
        shape = tuple(int(s) for s in getattr(arr, "shape", ()))
        self.skipped.append(Skipped(name, shape, reason))

    def dense(self, name: str, w: np.ndarray, kind: str, note: str = "", src=None) -> None:
        """Add a 2-D matrix already in (out, in) orientation."""
        src_shape = tuple(int(s) for s in (src.shape if src is not None else w.shape))
        self.layers.append(LayerWeights(name, kind, _float(np.asarray(w))[None], src_shape, note))

    def conv_kernel(self, name: str, w: np.ndarray, kind: str, layout: str) -> None:
        mats, note = _conv_matrices(_float(w), self.conv, layout)
        self.layers.append(LayerWeights(name, kind, mats, tuple(int(s) for s in w.shape), note))

    def gates(self, name: str, w: np.ndarray, gate_names: tuple[str, ...], kind: str) -> None:
        """Split a stacked-gate matrix (rows = gates × hidden) into one matrix per gate."""
        g = len(gate_names)
        if w.shape[0] % g:
            self.dense(name, w, "matrix", note=f"rows not divisible by {g} gates: kept whole")
            return
        for gname, part in zip(gate_names, np.split(_float(w), g, axis=0), strict=True):
            self.layers.append(
                LayerWeights(
                    f"{name}[{gname}]",
                    kind,
                    part[None],
                    tuple(int(s) for s in w.shape),
                    f"gate {gname!r} (rows {g} x hidden split)",
                )
            )

    def generic(self, name: str, leaf: Any, *, layout: str) -> None:
        """An array found by name only (dict / state dict / linen params / unknown module).

        ``layout="oi"``: torch / equinox convention (``weight`` is ``(out, in, *k)``).
        ``layout="flax"``: ``kernel`` is ``(in, out)`` (dense) or ``(*k, in, out)`` (conv).
        The rules are those of :func:`htrmt.networks._layout.decide`, shared with the lazy
        readers of files.
        """
        from ._layout import Context, decide

        tied = self._tied(name, leaf)
        a = _to_numpy(leaf)
        if a is None:
            return
        if tied is not None:
            self.skip(name, a, f"tied to {tied} (the same tensor; analysed once)")
            return
        ctx = Context(
            layout=layout,
            conv=self.conv,
            kinds=self.kinds,
            split_qkv=self.split_qkv,
            gpt2_conv1d=self.gpt2_conv1d,
        )
        res = decide(name, a.shape, a.dtype, ctx)
        if isinstance(res, str):
            self.skip(name, a, res)
            return
        fetch = lambda rows: a if rows is None else a[rows]
        src = tuple(int(s) for s in a.shape)
        for part in res:
            mats = part.build(fetch)
            self.layers.append(LayerWeights(part.name, part.kind, mats, src, part.note))

    def _tied(self, name: str, leaf: Any) -> str | None:
        """The name of an earlier parameter that is this very tensor (tied weights), if any."""
        ptr: tuple[Any, ...] | None = None
        if hasattr(leaf, "data_ptr") and hasattr(leaf, "shape"):
            try:
                ptr = ("torch", int(leaf.data_ptr()), tuple(leaf.shape), str(leaf.dtype))
            except Exception:
                ptr = None
        elif isinstance(leaf, np.ndarray) and leaf.size:
            ptr = ("np", leaf.__array_interface__["data"][0], leaf.shape, leaf.strides)
        if ptr is None or ptr[1] == 0:
            return None
        if ptr in self._seen:
            return self._seen[ptr]
        self._seen[ptr] = name
        return None


# ---------------------------------------------------------------------------------------------
# names


def _path_name(path: Iterable[Any]) -> str:
    parts = []
    for p in path:
        for attr in ("name", "key", "idx"):
            if hasattr(p, attr):
                parts.append(str(getattr(p, attr)))
                break
        else:
            parts.append(str(p))
    return ".".join(parts)


# ---------------------------------------------------------------------------------------------
# equinox


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _extract_equinox(model: Any, col: _Collector) -> None:
    import equinox as eqx
    import jax

    nn = eqx.nn
    known = (nn.Linear, nn.Conv, nn.ConvTranspose, nn.Embedding, nn.LSTMCell, nn.GRUCell)

    def is_leaf(x: Any) -> bool:
        return isinstance(x, known)

    leaves, _ = jax.tree_util.tree_flatten_with_path(model, is_leaf=is_leaf)
    for path, leaf in leaves:
        name = _path_name(path)
        if isinstance(leaf, nn.Linear):
            w = np.asarray(leaf.weight)  # (out, in)
            last = name.rsplit(".", 1)[-1]
            kind = "attention" if last in _EQX_ATTENTION else "linear"
            col.dense(_join(name, "weight"), w, kind)
            if leaf.bias is not None:
                col.skip(_join(name, "bias"), leaf.bias, "bias")
        elif isinstance(leaf, nn.ConvTranspose):
            d = leaf.num_spatial_dims
            col.conv_kernel(
                _join(name, "weight"), np.asarray(leaf.weight), f"conv_transpose{d}d", "oi"
            )
            if leaf.bias is not None:
                col.skip(_join(name, "bias"), leaf.bias, "bias")
        elif isinstance(leaf, nn.Conv):
            d = leaf.num_spatial_dims
            col.conv_kernel(_join(name, "weight"), np.asarray(leaf.weight), f"conv{d}d", "oi")
            if leaf.bias is not None:
                col.skip(_join(name, "bias"), leaf.bias, "bias")
        elif isinstance(leaf, nn.Embedding):
            col.dense(_join(name, "weight"), np.asarray(leaf.weight), "embedding")
        elif isinstance(leaf, nn.LSTMCell):
            col.gates(
                _join(name, "weight_ih"), np.asarray(leaf.weight_ih), _LSTM_GATES, "lstm_gate"
            )
            col.gates(
                _join(name, "weight_hh"), np.asarray(leaf.weight_hh), _LSTM_GATES, "lstm_gate"
            )
            if leaf.bias is not None:
                col.skip(_join(name, "bias"), leaf.bias, "bias")
        elif isinstance(leaf, nn.GRUCell):
            col.gates(_join(name, "weight_ih"), np.asarray(leaf.weight_ih), _GRU_GATES, "gru_gate")
            col.gates(_join(name, "weight_hh"), np.asarray(leaf.weight_hh), _GRU_GATES, "gru_gate")
            for b in ("bias", "bias_n"):
                if getattr(leaf, b, None) is not None:
                    col.skip(_join(name, b), getattr(leaf, b), "bias")
        else:
            a = _to_numpy(leaf)
            if a is None:
                continue
            # arrays outside known layers (norm scales, custom parameters): by name and rank
            col.generic(name, a, layout="oi")


# ---------------------------------------------------------------------------------------------
# flax


def _is_nnx(model: Any) -> bool:
    try:
        from flax import nnx
    except ImportError:
        return False
    return isinstance(model, nnx.Module)


def _extract_nnx(model: Any, col: _Collector) -> None:
    from flax import nnx

    owners: dict[tuple, Any] = {}
    for path, node in nnx.graph.iter_graph(model):
        if isinstance(node, nnx.Module):
            owners[tuple(path)] = node
    state = nnx.state(model, nnx.Param)
    flat = nnx.to_flat_state(state) if hasattr(nnx, "to_flat_state") else state.flat_state()
    for path, var in flat:
        value = var.get_value() if hasattr(var, "get_value") else var.value
        a = _to_numpy(value)
        if a is None:
            continue
        path = tuple(path)
        name = ".".join(str(p) for p in path)
        owner = owners.get(path[:-1])
        grand = owners.get(path[:-2]) if len(path) >= 2 else None
        last = str(path[-1])
        # nnx kernels are (in, out) like linen: dense (in, out), conv (*k, in, out)
        if isinstance(owner, nnx.LinearGeneral) and last == "kernel" and a.ndim >= 2:
            n_in = len(owner.in_features)
            m = a.reshape(int(np.prod(a.shape[:n_in])), -1).T
            kind = "attention" if isinstance(grand, nnx.MultiHeadAttention) else "linear"
            col.dense(name, m, kind, f"flax LinearGeneral kernel {a.shape} -> (out, in)", a)
        elif isinstance(owner, nnx.Linear) and last == "kernel" and isinstance(grand, nnx.GRUCell):
            col.gates(name, a.T, _GRU_GATES, "gru_gate")
        elif isinstance(owner, nnx.Linear) and last == "kernel" and isinstance(grand, nnx.LSTMCell):
            col.dense(name, a.T, "lstm_gate", "flax kernel (in, out) transposed to (out, in)")
        elif isinstance(owner, nnx.ConvTranspose) and last == "kernel":
            col.conv_kernel(name, a, f"conv_transpose{a.ndim - 2}d", "flax")
        elif isinstance(owner, nnx.Conv) and last == "kernel" and a.ndim >= 3:
            col.conv_kernel(name, a, f"conv{a.ndim - 2}d", "flax")
        elif isinstance(owner, nnx.Embed) and last == "embedding":
            col.dense(name, a, "embedding")
        else:
            col.generic(name, a, layout="flax")


def _looks_like_linen(tree: Mapping) -> bool:
    """A flax linen variable dict: has a 'params' collection, or 'kernel'/'embedding' leaves."""
    if "params" in tree and isinstance(tree["params"], Mapping):
        return True
    stack = [tree]
    while stack:
        d = stack.pop()
        for k, v in d.items():
            if isinstance(v, Mapping):
                stack.append(v)
            elif k in ("kernel", "embedding"):
                return True
    return False


def _walk_mapping(tree: Mapping, prefix: str = ""):
    for k, v in tree.items():
        name = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            yield from _walk_mapping(v, name)
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                if isinstance(x, Mapping):
                    yield from _walk_mapping(x, f"{name}.{i}")
                else:
                    yield f"{name}.{i}", x
        else:
            yield name, v


# ---------------------------------------------------------------------------------------------
# torch


def _is_torch_module(model: Any) -> bool:
    t = type(model)
    return any(c.__module__.startswith("torch.nn") and c.__name__ == "Module" for c in t.__mro__)


def _extract_torch_module(model: Any, col: _Collector) -> None:
    import torch

    nn = torch.nn
    handled: set[str] = set()
    for mname, mod in model.named_modules():
        pre = f"{mname}." if mname else ""
        if isinstance(mod, (nn.LSTM, nn.GRU)):
            gates = _LSTM_GATES if isinstance(mod, nn.LSTM) else _GRU_GATES
            kind = "lstm_gate" if isinstance(mod, nn.LSTM) else "gru_gate"
            for pname, p in mod.named_parameters(recurse=False):
                full = pre + pname
                handled.add(full)
                if pname.startswith("weight_"):
                    col.gates(full, _tensor_numpy(p), gates, kind)
                else:
                    col.skip(full, p, "bias")
        elif isinstance(mod, (nn.LSTMCell, nn.GRUCell)):
            gates = _LSTM_GATES if isinstance(mod, nn.LSTMCell) else _GRU_GATES
            kind = "lstm_gate" if isinstance(mod, nn.LSTMCell) else "gru_gate"
            for pname, p in mod.named_parameters(recurse=False):
                full = pre + pname
                handled.add(full)
                if pname.startswith("weight_"):
                    col.gates(full, _tensor_numpy(p), gates, kind)
                else:
                    col.skip(full, p, "bias")
        elif isinstance(mod, nn.modules.conv._ConvTransposeNd):
            full = pre + "weight"
            handled.add(full)
            w = _tensor_numpy(mod.weight)  # torch: (in, out/groups, *k)
            col.conv_kernel(full, np.swapaxes(w, 0, 1), f"conv_transpose{w.ndim - 2}d", "oi")
        elif isinstance(mod, nn.Embedding):
            full = pre + "weight"
            handled.add(full)
            col.dense(full, _tensor_numpy(mod.weight), "embedding")
            col._tied(full, mod.weight)
        elif isinstance(mod, nn.modules.conv._ConvNd):
            full = pre + "weight"
            handled.add(full)
            w = _tensor_numpy(mod.weight)  # (out, in/groups, *k)
            col.conv_kernel(full, w, f"conv{w.ndim - 2}d", "oi")
            if getattr(mod, "bias", None) is not None:
                handled.add(pre + "bias")
                col.skip(pre + "bias", mod.bias, "bias")
    for pname, p in model.state_dict(keep_vars=True).items():
        if pname not in handled:
            col.generic(pname, p, layout="oi")


# ---------------------------------------------------------------------------------------------
# entry point


def _contains_module(tree: Mapping) -> bool:
    """Whether a mapping holds equinox modules (then it is walked as an equinox pytree)."""
    try:
        import equinox as eqx
    except ImportError:  # pragma: no cover
        return False
    stack: list[Any] = [tree]
    while stack:
        d = stack.pop()
        vals = d.values() if isinstance(d, Mapping) else d
        for v in vals:
            if isinstance(v, eqx.Module):
                return True
            if isinstance(v, (Mapping, list, tuple)):
                stack.append(v)
    return False


def extract(
    model: Any, *, conv: str = "slices", kinds: Any = None, split_qkv: bool = False
) -> Extraction:
    """Find the weight matrices of a model.

    Args:
        model: an equinox Module (or any pytree of them), a flax ``nnx.Module``, a flax linen
            variable dict (``{"params": ...}``), a ``torch.nn.Module``, a PyTorch state dict, a
            dict of arrays, or a path to a ``.npz``, ``.safetensors`` or ``.pt``/``.pth`` file.
        conv: ``"slices"`` (default): a conv kernel ``(out, in, *k)`` gives ``prod(k)`` matrices
            ``out × in`` analysed together as one layer (the HT-SR convention).
            ``"flatten"``: one ``out × (in·prod(k))`` matrix.
        kinds: ``{regex: kind}`` overriding how matching tensors are read (``linear``,
            ``transposed``, ``embedding``, ``conv``, ``experts``, ``skip``); see
            :func:`htrmt.networks.describe`.
        split_qkv: split fused QKV projections into Q, K and V.

    Returns:
        An :class:`Extraction` with the layers (matrices in ``(out, in)`` orientation) and the
        parameters that were skipped (biases, normalisation scales, 1-D arrays), with reasons.

    Raises:
        ValueError: bad ``conv``; a file that is not a model; a model with no 2-D weights.
        FileNotFoundError: a path that does not exist.
        TypeError: an object of a kind this function does not read.

    Example:
        >>> import jax, equinox as eqx, htrmt as ht
        >>> mlp = eqx.nn.MLP(8, 2, 16, 2, key=jax.random.key(0))
        >>> [l.name for l in ht.networks.extract(mlp).layers]
        ['layers.0.weight', 'layers.1.weight', 'layers.2.weight']
    """
    from ._loaders import is_pathlike

    if conv not in CONV_MODES:
        raise ValueError(f"conv must be one of {list(CONV_MODES)}, got conv={conv!r}")
    if is_pathlike(model):
        from ._plan import plan

        p = plan(model, conv=conv, kinds=kinds, split_qkv=split_qkv)
        return Extraction(tuple(s.load() for s in p.layers), p.skipped, p.framework)
    if _is_nnx(model):
        col = _Collector(conv, "flax.nnx", kinds, split_qkv)
        _extract_nnx(model, col)
    elif _is_torch_module(model):
        col = _Collector(conv, "torch", kinds, split_qkv)
        _extract_torch_module(model, col)
    elif isinstance(model, Mapping) and not _contains_module(model):
        from ._layout import detect_gpt2

        linen = _looks_like_linen(model)
        flat = list(_walk_mapping(model))
        torchy = any(type(v).__module__.startswith("torch") for _, v in flat)
        col = _Collector(conv, "flax.linen" if linen else ("torch" if torchy else "arrays"))
        col.kinds, col.split_qkv = _Collector(conv, "", kinds).kinds, split_qkv
        col.gpt2_conv1d = detect_gpt2(
            {}, {n: tuple(getattr(v, "shape", ())) for n, v in flat if hasattr(v, "shape")}
        )
        tree = model["params"] if linen and "params" in model else model
        for name, leaf in _walk_mapping(tree):
            col.generic(name, leaf, layout="flax" if linen else "oi")
    else:
        import equinox as eqx
        import jax

        leaves = jax.tree_util.tree_leaves(model, is_leaf=lambda x: isinstance(x, eqx.Module))
        if not leaves or not any(
            isinstance(x, eqx.Module) or _to_numpy(x) is not None for x in leaves
        ):
            raise TypeError(
                "model must be an equinox/flax/torch module, a dict of arrays or a path to a "
                f".npz/.safetensors/.pt file, got {type(model).__name__}"
            )
        col = _Collector(conv, "equinox", kinds, split_qkv)
        _extract_equinox(model, col)
    if not col.layers:
        listed = ", ".join(f"{s.name}{list(s.shape)}" for s in col.skipped[:8])
        raise ValueError(
            "the model has no 2-D weight matrices to analyse"
            + (f" (found only: {listed}{' ...' if len(col.skipped) > 8 else ''})" if listed else "")
        )
    return Extraction(tuple(col.layers), tuple(col.skipped), col.framework)


def total_params(ext: Extraction) -> int:
    return sum(math.prod(layer.source_shape) for layer in ext.layers)
