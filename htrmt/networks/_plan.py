"""What would be analysed in a model, before any spectrum: :func:`describe` and its plan.

A :class:`ModelPlan` lists one :class:`LayerSpec` per analysable matrix (name, kind, shape,
stored dtype, the tensor it comes from, how it is converted) and every tensor left out with
the reason. For files, shards and folders nothing but headers is read: each spec loads its own
tensor when :meth:`LayerSpec.load` is called, so an analysis holds one layer at a time.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ._checkpoint import Checkpoint, open_checkpoint
from ._extract import CONV_MODES, Extraction, LayerWeights, Skipped
from ._layout import Context, compile_kinds, decide, detect_gpt2

__all__ = ["LayerSpec", "ModelPlan", "describe", "plan", "layer_filter"]

_TIED_HEADS = ("lm_head.weight", "embed_out.weight", "output.weight")
_EMBED_NAMES = (
    "model.embed_tokens.weight",
    "embed_tokens.weight",
    "transformer.wte.weight",
    "model.decoder.embed_tokens.weight",
    "gpt_neox.embed_in.weight",
    "transformer.word_embeddings.weight",
    "tok_embeddings.weight",
)


@dataclasses.dataclass(frozen=True)
class LayerSpec:
    """One analysable layer, not yet read.

    Attributes:
        name: the layer's name in the report (``...experts.3.gate_up_proj``, ``...[q]``).
        kind: ``linear``, ``embedding``, ``attention``, ``expert``, ``conv2d`` ...
        shape: ``(out, in)`` of one matrix. num_slices: matrices pooled (conv slices; else 1).
        source: the stored tensor it comes from. source_shape, dtype: as stored.
        note: how it is converted.
    """

    name: str
    kind: str
    shape: tuple[int, int]
    num_slices: int
    source: str
    source_shape: tuple[int, ...]
    dtype: str
    note: str
    loader: Callable[[], np.ndarray] = dataclasses.field(repr=False, compare=False)
    #: optional exact shortcut ``normalization -> eigenvalues`` (a low-rank adapter's ESD from
    #: its r×r core); None: the ESD of the loaded matrices
    spectrum: Callable[[str], np.ndarray] | None = dataclasses.field(
        default=None, repr=False, compare=False
    )

    def load(self) -> LayerWeights:
        """Read the tensor and build the ``(S, out, in)`` stack (float32 for 16-bit floats)."""
        mats = self.loader()
        if mats.shape[1:] != self.shape:
            raise ValueError(
                f"layer {self.name!r}: tensor {self.source!r} gave matrices of shape "
                f"{mats.shape[1:]}, its header said {self.shape}"
            )
        return LayerWeights(self.name, self.kind, mats, self.source_shape, self.note)

    @property
    def num_params(self) -> int:
        return int(self.shape[0] * self.shape[1] * self.num_slices)


@dataclasses.dataclass(frozen=True)
class ModelPlan:
    """What :func:`htrmt.analyze` would analyse (see the module doc).

    Attributes:
        layers: one :class:`LayerSpec` per matrix, in the model's order.
        skipped: tensors left out, with reasons.
        framework: ``safetensors``, ``torch``, ``npz``, ``equinox``, ``flax.nnx`` ...
        source: the path (or the model's type name).
        config: the folder's ``config.json`` (``{}`` when none).
        files: the weight files read.
    """

    layers: tuple[LayerSpec, ...]
    skipped: tuple[Skipped, ...]
    framework: str
    source: str
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    files: tuple[str, ...] = ()

    def names(self) -> list[str]:
        return [s.name for s in self.layers]

    def __getitem__(self, name: str) -> LayerSpec:
        for s in self.layers:
            if s.name == name:
                return s
        raise KeyError(f"no layer named {name!r}")

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for s in self.layers:
            out.append(
                dict(
                    name=s.name,
                    kind=s.kind,
                    out=s.shape[0],
                    **{"in": s.shape[1]},
                    slices=s.num_slices,
                    dtype=s.dtype,
                    source=s.source,
                    source_shape="x".join(map(str, s.source_shape)),
                    note=s.note,
                    skipped="",
                )
            )
        for k in self.skipped:
            out.append(
                dict(
                    name=k.name,
                    kind="",
                    out=0,
                    **{"in": 0},
                    slices=0,
                    dtype="",
                    source=k.name,
                    source_shape="x".join(map(str, k.shape)),
                    note="",
                    skipped=k.reason,
                )
            )
        return out

    def table(self, *, skipped: bool = True) -> str:
        """A plain-text table: the layers, then the skipped tensors and why."""
        head = f"{'name':<56} {'kind':<10} {'out x in':>14} {'S':>4} {'dtype':<9} note"
        lines = [
            f"{self.source} ({self.framework}): {len(self.layers)} layers, "
            f"{sum(s.num_params for s in self.layers):,} weights in them, "
            f"{len(self.skipped)} tensors skipped",
            head,
            "-" * len(head),
        ]
        for s in self.layers:
            oi = f"{s.shape[0]}x{s.shape[1]}"
            lines.append(
                f"{s.name:<56} {s.kind:<10} {oi:>14} {s.num_slices:>4} {s.dtype:<9} {s.note}"
            )
        if skipped and self.skipped:
            lines += ["", "skipped:"]
            for k in self.skipped:
                lines.append(f"  {k.name:<56} {'x'.join(map(str, k.shape)):>14}  {k.reason}")
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(
            {
                "source": self.source,
                "framework": self.framework,
                "files": list(self.files),
                "layers": [r for r in self.rows() if not r["skipped"]],
                "skipped": [
                    {"name": k.name, "shape": list(k.shape), "reason": k.reason}
                    for k in self.skipped
                ],
            },
            indent=1,
        )

    def to_csv(self) -> str:
        import csv
        import io

        rows = self.rows()
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["name"])
        w.writeheader()
        w.writerows(rows)
        return buf.getvalue()

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows())


def layer_filter(layers: Any) -> Callable[[str], bool] | None:
    """``layers`` option → predicate: a regex (``re.search``), a list of names, a callable."""
    if layers is None:
        return None
    if isinstance(layers, str):
        try:
            pat = re.compile(layers)
        except re.error as err:
            raise ValueError(
                f"layers={layers!r} is not a valid regular expression: {err}"
            ) from None
        return lambda n: pat.search(n) is not None
    if callable(layers):
        return layers
    if isinstance(layers, (list, tuple, set, frozenset)):
        keep = set(layers)
        return lambda n: n in keep
    raise TypeError(
        f"layers must be a regex string, a list of names or a callable, got {type(layers).__name__}"
    )


def _looks_flax(names: Sequence[str]) -> bool:
    return any(n.endswith((".kernel", ".embedding")) or n in ("kernel",) for n in names)


def plan_checkpoint(
    ckpt: Checkpoint,
    *,
    conv: str = "slices",
    kinds: Any = None,
    split_qkv: bool = False,
) -> ModelPlan:
    """The plan of an opened checkpoint (headers only)."""
    names = ckpt.names()
    shapes = {n: e.shape for n, e in ckpt.entries.items()}
    ctx = Context(
        layout="flax" if _looks_flax(names) else "oi",
        conv=conv,
        kinds=compile_kinds(kinds),
        split_qkv=split_qkv,
        config=ckpt.config,
        gpt2_conv1d=detect_gpt2(ckpt.config, shapes),
    )
    tied_to = None
    if ckpt.config.get("tie_word_embeddings") is True:
        tied_to = next((n for n in _EMBED_NAMES if n in ckpt.entries), None)
    specs: list[LayerSpec] = []
    skipped: list[Skipped] = []
    for name, entry in ckpt.entries.items():
        if tied_to and name in _TIED_HEADS and entry.shape == ckpt.entries[tied_to].shape:
            skipped.append(
                Skipped(name, entry.shape, f"tied to {tied_to} (analysed once, config.json)")
            )
            continue
        res = decide(name, entry.shape, entry.dtype, ctx)
        if isinstance(res, str):
            skipped.append(Skipped(name, entry.shape, res))
            continue
        for part in res:
            specs.append(
                LayerSpec(
                    part.name,
                    part.kind,
                    part.shape,
                    part.num_slices,
                    name,
                    entry.shape,
                    str(entry.dtype),
                    part.note,
                    _bind(part.build, entry.read),
                )
            )
    return plan_of(ckpt, specs, skipped)


def plan_of(ckpt: Checkpoint, specs: Sequence[LayerSpec], skipped: Sequence[Skipped]) -> ModelPlan:
    """A :class:`ModelPlan` of these specs read from this checkpoint."""
    return ModelPlan(
        tuple(specs),
        tuple(skipped),
        ckpt.framework,
        str(ckpt.path),
        dict(ckpt.config),
        tuple(str(f) for f in ckpt.files),
    )


def _bind(build, fetch):
    return lambda: build(fetch)


def _const(m: np.ndarray) -> Callable[[], np.ndarray]:
    return lambda: m


def _from_extraction(ext: Extraction, source: str) -> ModelPlan:
    specs = tuple(
        LayerSpec(
            lw.name,
            lw.kind,
            lw.shape,
            lw.num_slices,
            lw.name,
            lw.source_shape,
            str(lw.matrices.dtype),
            lw.note,
            _const(lw.matrices),
        )
        for lw in ext.layers
    )
    return ModelPlan(specs, ext.skipped, ext.framework, source)


def plan(
    model_or_path: Any,
    *,
    conv: str = "slices",
    kinds: Mapping[str, str] | None = None,
    split_qkv: bool = False,
    layers: Any = None,
) -> ModelPlan:
    """The layers an analysis of this model would read (no spectrum, for files no tensor data).

    Args:
        model_or_path: a path (file, index file, model folder) or anything
            :func:`htrmt.networks.extract` reads.
        conv: ``"slices"`` or ``"flatten"`` (see :func:`htrmt.networks.extract`).
        kinds: ``{regex: kind}`` overriding the guess for matching tensor names; kinds:
            ``linear``, ``transposed`` (stored in × out), ``embedding``, ``conv``, ``experts``
            (stacked ``(E, a, b)``), ``skip``. The first matching regex wins.
        split_qkv: split fused QKV projections into Q, K and V (head counts from config.json).
        layers: keep only the layers whose name matches this regex (or is in this list, or for
            which this callable is true).

    Raises:
        ValueError: bad options; unreadable files (see :func:`open_checkpoint`); no layer left.
    """
    if conv not in CONV_MODES:
        raise ValueError(f"conv must be one of {list(CONV_MODES)}, got conv={conv!r}")
    keep = layer_filter(layers)
    from ._loaders import is_pathlike

    if is_pathlike(model_or_path):
        ckpt = open_checkpoint(model_or_path)
        if ckpt.adapter_config is not None:
            from ._adapter import plan_adapter

            p = plan_adapter(ckpt, base=None)
        else:
            p = plan_checkpoint(ckpt, conv=conv, kinds=kinds, split_qkv=split_qkv)
        if not p.layers:
            listed = ", ".join(f"{s.name}{list(s.shape)}" for s in p.skipped[:8])
            more = " ..." if len(p.skipped) > 8 else ""
            raise ValueError(
                f"{str(model_or_path)!r} has no 2-D weight matrices to analyse"
                + (f" (found only: {listed}{more})" if listed else "")
            )
    elif isinstance(model_or_path, ModelPlan):
        p = model_or_path
    else:
        from ._extract import extract

        ext = (
            model_or_path
            if isinstance(model_or_path, Extraction)
            else extract(model_or_path, conv=conv, kinds=kinds, split_qkv=split_qkv)
        )
        p = _from_extraction(ext, type(model_or_path).__name__)
    if keep is not None:
        sel = tuple(s for s in p.layers if keep(s.name))
        if not sel:
            raise ValueError(f"layers={layers!r} selects none of {p.names()[:20]}")
        p = dataclasses.replace(p, layers=sel)
    return p


def describe(model_or_path: Any, **options: Any) -> ModelPlan:
    """What would be analysed: names, kinds, shapes, dtypes, skipped tensors and why.

    Same options as :func:`plan` (an alias that reads better at the prompt); no spectrum is
    computed and, for files, no tensor data is read.

    Example:
        >>> import numpy as np, htrmt as ht
        >>> p = ht.networks.describe({"fc.weight": np.ones((4, 3)), "fc.bias": np.ones(4)})
        >>> [(s.name, s.shape) for s in p.layers], [(k.name, k.reason) for k in p.skipped]
        ([('fc.weight', (4, 3))], [('fc.bias', 'bias')])
    """
    return plan(model_or_path, **options)
