"""What a stored tensor is, from its name, shape and dtype alone (no data read).

One rule set for every source (files, state dicts, dicts of arrays, flax linen variables): a
decision is either a reason to skip the tensor or a list of :class:`Part` s, each one analysable
matrix (or stack of conv slices) with its ``(out, in)`` shape known in advance and a ``build``
that turns the tensor's rows into the ``(S, out, in)`` stack when its spectrum is due.

Modern layouts:

- stacked expert tensors ``(E, a, b)`` (``...experts.gate_up_proj``) become one matrix per expert,
  ``...experts.3.gate_up_proj``, each read on its own (a row range of the stored tensor);
- a 3-D tensor is a conv kernel only when its name (or module type, or ``kinds``) says so;
- GPT-2 ``Conv1D`` weights (``c_attn``, ``c_fc``, ``c_proj``, stored ``(in, out)``) are
  transposed to ``(out, in)``;
- fused QKV projections (``qkv_proj``, ``Wqkv``, ``W_pack``, ``c_attn``, ``query_key_value``)
  are split into Q, K and V on request, with head counts from ``config.json``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["Part", "Context", "decide", "KIND_OVERRIDES", "to_float"]

#: what ``kinds={regex: kind}`` may force a tensor to be read as
KIND_OVERRIDES = ("linear", "transposed", "embedding", "conv", "experts", "skip")

_GPT2_TYPES = ("gpt2", "openai-gpt", "imagegpt", "decision_transformer")
_GPT2_NAMES = ("c_attn", "c_fc", "c_proj", "q_attn")
_FUSED_QKV = ("qkv_proj", "Wqkv", "W_pack", "c_attn", "query_key_value", "qkv")
_INTERLEAVED_QKV = ("gpt_neox", "bloom")

Fetch = Callable[[slice | None], np.ndarray]


def is_float_dtype(dt: np.dtype) -> bool:
    return bool(np.issubdtype(dt, np.floating)) or dt.name in (
        "bfloat16",
        "float8_e4m3fn",
        "float8_e5m2",
    )


def to_float(a: np.ndarray) -> np.ndarray:
    """float32 for the half and 8-bit floats (the spectra need it), other floats unchanged."""
    if a.dtype.name in ("bfloat16", "float16", "float8_e4m3fn", "float8_e5m2"):
        return a.astype(np.float32)
    return a


@dataclasses.dataclass(frozen=True)
class Part:
    """One analysable layer cut from one stored tensor (see the module doc)."""

    name: str
    kind: str
    shape: tuple[int, int]  # (out, in) of one matrix
    num_slices: int
    note: str
    build: Callable[[Fetch], np.ndarray] = dataclasses.field(repr=False, compare=False)


@dataclasses.dataclass(frozen=True)
class Context:
    """What the rules may know beyond one tensor: layout, options, the model's config."""

    layout: str = "oi"  # "oi" (torch/equinox) or "flax"
    conv: str = "slices"
    kinds: tuple[tuple[re.Pattern, str], ...] = ()
    split_qkv: bool = False
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    gpt2_conv1d: bool = False


def compile_kinds(kinds: Mapping[str, str] | Sequence[tuple[str, str]] | None) -> tuple:
    """``{regex: kind}`` → compiled pairs (checked: known kinds, valid regexes)."""
    if kinds is None:
        return ()
    items = list(kinds.items()) if isinstance(kinds, Mapping) else list(kinds)
    out = []
    for pat, kind in items:
        if kind not in KIND_OVERRIDES:
            raise ValueError(
                f"kinds: {pat!r} -> {kind!r}: the kind must be one of {list(KIND_OVERRIDES)}"
            )
        try:
            out.append((re.compile(pat), kind))
        except re.error as err:
            raise ValueError(f"kinds: {pat!r} is not a valid regular expression: {err}") from None
    return tuple(out)


def _override(name: str, ctx: Context) -> str | None:
    for pat, kind in ctx.kinds:
        if pat.search(name):
            return kind
    return None


# ---------------------------------------------------------------------------------------------
# builders


def _whole(transpose: bool = False) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        a = to_float(fetch(None))
        return (a.T if transpose else a)[None]

    return build


def _reshaped(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        return fn(to_float(fetch(None)))[None]

    return build


def _conv_build(conv: str, layout: str) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        return conv_matrices(to_float(fetch(None)), conv, layout)[0]

    return build


def _rows(start: int, stop: int) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        return to_float(fetch(slice(start, stop)))[None] if stop > start else np.empty((1, 0, 0))

    return build


def _expert(e: int) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        return to_float(fetch(slice(e, e + 1)))  # (1, a, b)

    return build


def _select_rows(idx: np.ndarray) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        return to_float(fetch(None))[idx][None]

    return build


def _select_cols_t(start: int, stop: int) -> Callable[[Fetch], np.ndarray]:
    def build(fetch: Fetch) -> np.ndarray:
        return np.ascontiguousarray(to_float(fetch(None))[:, start:stop].T)[None]

    return build


def conv_matrices(w: np.ndarray, conv: str, layout: str) -> tuple[np.ndarray, str]:
    """Stack of ``(out, in)`` matrices from a conv kernel.

    ``layout="oi"``: ``(out, in, *k)`` (equinox, torch). ``layout="flax"``: ``(*k, in, out)``.
    """
    nsp = w.ndim - 2
    if layout == "flax":
        w = np.moveaxis(w, (-1, -2), (0, 1))  # (*k, in, out) -> (out, in, *k)
        note = "flax conv kernel (*k, in, out) moved to (out, in, *k)"
    else:
        note = ""
    out_c, in_c = w.shape[:2]
    k = tuple(w.shape[2:])
    if conv == "flatten":
        mats = w.reshape(out_c, in_c * int(np.prod(k)))[None]
        note = (note + "; " if note else "") + f"flattened to out x (in*{'*'.join(map(str, k))})"
    else:
        mats = np.moveaxis(w, (0, 1), (-2, -1)).reshape((-1, out_c, in_c))
        note = (note + "; " if note else "") + f"{int(np.prod(k))} spatial slices ({nsp}-d kernel)"
    return mats, note


def conv_part(name: str, shape: tuple[int, ...], kind: str, ctx: Context, layout: str) -> Part:
    if layout == "flax":
        out_c, in_c, k = shape[-1], shape[-2], shape[:-2]
        pre = "flax conv kernel (*k, in, out) moved to (out, in, *k); "
    else:
        out_c, in_c, k = shape[0], shape[1], shape[2:]
        pre = ""
    ks = int(math.prod(k))
    if ctx.conv == "flatten":
        shp, S = (out_c, in_c * ks), 1
        note = pre + f"flattened to out x (in*{'*'.join(map(str, k))})"
    else:
        shp, S = (out_c, in_c), ks
        note = pre + f"{ks} spatial slices ({len(k)}-d kernel)"
    return Part(name, kind, shp, S, note, _conv_build(ctx.conv, layout))


# ---------------------------------------------------------------------------------------------
# fused QKV


def _head_sizes(rows: int, cfg: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(q_rows, kv_rows, head_dim) of a fused projection with ``rows`` outputs, from config."""
    heads = cfg.get("num_attention_heads") or cfg.get("n_head") or cfg.get("num_heads")
    hidden = cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("d_model")
    kv = cfg.get("num_key_value_heads") or cfg.get("multi_query_group_num") or heads
    if cfg.get("multi_query") and not cfg.get("new_decoder_architecture"):
        kv = 1
    if not heads:
        return None
    hd = cfg.get("head_dim") or (int(hidden) // int(heads) if hidden else None)
    if not hd or not kv:
        return None
    q, k = int(heads) * int(hd), int(kv) * int(hd)
    if q + 2 * k == rows:
        return q, k, int(hd)
    return None


def _qkv_parts(name: str, out_dim: int, in_dim: int, ctx: Context, *, stored_io: bool):
    """Q, K, V parts of a fused projection (``stored_io``: stored (in, out), GPT-2)."""
    cfg = ctx.config
    mtype = str(cfg.get("model_type", ""))
    sizes = _head_sizes(out_dim, cfg)
    parts: list[Part] = []
    base = name
    if mtype in _INTERLEAVED_QKV or (mtype == "falcon" and not stored_io):
        heads = int(cfg.get("num_attention_heads") or cfg.get("n_head") or 0)
        kvh = int(cfg.get("num_kv_heads") or cfg.get("num_key_value_heads") or heads or 0)
        if mtype == "falcon" and cfg.get("multi_query") and not cfg.get("new_decoder_architecture"):
            kvh = 1
        if heads and kvh and out_dim % (heads + 2 * kvh) == 0 and heads % kvh == 0:
            hd = out_dim // (heads + 2 * kvh)
            g = heads // kvh
            if mtype == "falcon" and kvh == 1 and not cfg.get("new_decoder_architecture"):
                sizes = (heads * hd, hd, hd)  # multi-query: [q | k | v] concatenated
            else:
                # per group of kv heads: g query heads, then one key, one value head
                r = np.arange(out_dim).reshape(kvh, g + 2, hd)
                sel = {
                    "q": r[:, :g].reshape(-1),
                    "k": r[:, g].reshape(-1),
                    "v": r[:, g + 1].reshape(-1),
                }
                for tag, idx in sel.items():
                    parts.append(
                        Part(
                            f"{base}[{tag}]",
                            "attention",
                            (int(idx.size), in_dim),
                            1,
                            f"fused QKV {out_dim}x{in_dim} ({mtype}: heads interleaved, "
                            f"{heads} q / {kvh} kv heads of {hd}): {tag.upper()} rows",
                            _select_rows(idx),
                        )
                    )
                return parts, ""
    if sizes is None:
        if out_dim % 3:
            return [], "fused QKV: head counts unknown (no config.json) and rows not divisible by 3"
        sizes = (out_dim // 3, out_dim // 3, 0)
        how = "equal thirds (no head counts in config)"
    else:
        how = f"q {sizes[0]}, k/v {sizes[1]} rows from config"
    q, k = sizes[0], sizes[1]
    bounds = {"q": (0, q), "k": (q, q + k), "v": (q + k, q + 2 * k)}
    for tag, (a, b) in bounds.items():
        build = _select_cols_t(a, b) if stored_io else _rows(a, b)
        parts.append(
            Part(
                f"{base}[{tag}]",
                "attention",
                (b - a, in_dim),
                1,
                f"fused QKV {out_dim}x{in_dim} split ({how}): {tag.upper()}"
                + ("; GPT-2 Conv1D (in, out) transposed" if stored_io else ""),
                build,
            )
        )
    return parts, ""


def _is_fused_qkv(name: str) -> bool:
    parts = name.split(".")
    mod = parts[-2] if len(parts) >= 2 else ""
    return mod in _FUSED_QKV


# ---------------------------------------------------------------------------------------------
# the rules


def decide(name: str, shape: tuple[int, ...], dtype: np.dtype, ctx: Context) -> list[Part] | str:
    """The parts to analyse in one stored tensor, or the reason it is skipped."""
    shape = tuple(int(s) for s in shape)
    ndim = len(shape)
    last = name.rsplit(".", 1)[-1]
    if not is_float_dtype(dtype):
        return f"not a float array (dtype {dtype})"
    forced = _override(name, ctx)
    if forced == "skip":
        return "skipped by the kinds option"
    if ndim < 2:
        if "bias" in last:
            return "bias"
        if last in ("scale", "weight", "gamma", "beta", "running_mean", "running_var"):
            return "1-D parameter (normalisation scale/shift)"
        return f"{ndim}-D parameter"
    if "bias" in last and forced is None:
        return "bias"
    if ndim == 2 and min(shape) == 1:
        return "vector stored as a 2-D array"
    lname = name.lower()
    is_flax = ctx.layout == "flax" and last == "kernel"
    parent = name.rsplit(".", 2)[-2] if name.count(".") >= 1 else ""

    if forced in ("linear", "transposed", "embedding"):
        if ndim != 2:
            return f"kinds says {forced!r} but the tensor is {ndim}-D {list(shape)}"
        t = forced == "transposed"
        out_in = (shape[1], shape[0]) if t else shape
        kind = "embedding" if forced == "embedding" else "linear"
        note = "stored (in, out): transposed (kinds option)" if t else ""
        return [Part(name, kind, (out_in[0], out_in[1]), 1, note, _whole(t))]
    if forced == "conv":
        if ndim < 3:
            return f"kinds says 'conv' but the tensor is {ndim}-D {list(shape)}"
        return [conv_part(name, shape, f"conv{ndim - 2}d", ctx, ctx.layout)]
    if forced == "experts" or (forced is None and ndim == 3 and "experts" in lname):
        if ndim != 3:
            return f"stacked experts must be 3-D (E, a, b), got {list(shape)}"
        return _expert_parts(name, shape)

    if ndim == 2:
        gpt2 = ctx.gpt2_conv1d and parent in _GPT2_NAMES and last == "weight"
        if ctx.split_qkv and _is_fused_qkv(name):
            out_dim, in_dim = (shape[1], shape[0]) if gpt2 else shape
            parts, why = _qkv_parts(name, out_dim, in_dim, ctx, stored_io=gpt2)
            if parts:
                return parts
            note = f"{why}: kept whole"
        else:
            note = ""
        if gpt2:
            n = "GPT-2 Conv1D weight (in, out) transposed to (out, in)"
            return [Part(name, "linear", (shape[1], shape[0]), 1, _join(n, note), _whole(True))]
        if is_flax:
            n = "flax kernel (in, out) transposed to (out, in)"
            return [Part(name, "linear", (shape[1], shape[0]), 1, n, _whole(True))]
        if last == "embedding" or "embed" in lname or parent in ("wte", "wpe"):
            return [Part(name, "embedding", (shape[0], shape[1]), 1, note, _whole())]
        kind = "linear" if last == "weight" else "matrix"
        return [Part(name, kind, (shape[0], shape[1]), 1, note, _whole())]

    # ndim >= 3
    if is_flax and ndim == 3 and parent in ("query", "key", "value"):
        # linen/nnx MultiHeadDotProductAttention: kernel (in, heads, head_dim)
        return [
            Part(
                name,
                "attention",
                (shape[1] * shape[2], shape[0]),
                1,
                "flax attention kernel (in, heads, dim) -> (heads*dim, in)",
                _reshaped(lambda a: a.reshape(a.shape[0], -1).T),
            )
        ]
    if is_flax and ndim == 3 and parent == "out":
        return [
            Part(
                name,
                "attention",
                (shape[2], shape[0] * shape[1]),
                1,
                "flax attention kernel (heads, dim, out) -> (out, heads*dim)",
                _reshaped(lambda a: a.reshape(-1, a.shape[-1]).T),
            )
        ]
    if ndim > 5:
        return f"{ndim}-D parameter of unknown layout"
    if ndim == 3 and "conv" not in lname:
        return (
            f"3-D tensor {list(shape)} of unknown role: not named as a conv kernel or stacked "
            "experts (say which with kinds={regex: 'conv' | 'experts'}, CLI --kind REGEX=KIND)"
        )
    return [conv_part(name, shape, f"conv{ndim - 2}d", ctx, "flax" if is_flax else "oi")]


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a and b else (a or b)


def _expert_parts(name: str, shape: tuple[int, ...]) -> list[Part]:
    E, a, b = shape
    if ".experts." in name:
        pre, post = name.split(".experts.", 1)
        fmt = f"{pre}.experts.{{e}}.{post}"
    else:
        fmt = f"{name}.{{e}}"
    return [
        Part(
            fmt.format(e=e),
            "expert",
            (a, b),
            1,
            f"expert {e} of a stacked ({E}, {a}, {b}) tensor {name!r}",
            _expert(e),
        )
        for e in range(E)
    ]


def detect_gpt2(config: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]]) -> bool:
    """GPT-2 style Conv1D weights: from config.json's model_type, else from a c_attn shape."""
    mtype = str(config.get("model_type", ""))
    if mtype:
        return mtype in _GPT2_TYPES
    for name, shp in shapes.items():
        if name.endswith("c_attn.weight") and len(shp) == 2 and shp[1] == 3 * shp[0]:
            return True
    return False
