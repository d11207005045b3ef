"""Fine-tunes against their base (W − W_base) and PEFT / LoRA adapters (ΔW = s·B·A, W + ΔW).

A LoRA adapter folder holds ``adapter_config.json`` (``r``, ``lora_alpha``, ``use_rslora``,
``rank_pattern``, ``alpha_pattern``, ``target_modules``) and ``adapter_model.safetensors``
with, per target module ``X``, ``base_model.model.X.lora_A.weight`` (r × in) and
``...lora_B.weight`` (out × r). The update is ``ΔW = s · B A`` with ``s = lora_alpha / r``
(``lora_alpha / √r`` with rsLoRA). Embedding adapters (``lora_embedding_A`` (r × vocab),
``lora_embedding_B`` (dim × r)) give ``ΔW = s · (B A)ᵀ``, the shape of the embedding.

Without a base, each ΔW is analysed on its own: its ESD has ``r`` non-zero eigenvalues, computed
exactly from the r × r core (QR of A and B; no dense product), and ``M − r`` exact zeros, which
are counted in ``num_nonpositive`` and excluded from the fits. With a base, ``W + ΔW`` is formed
one layer at a time.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ._checkpoint import Checkpoint, open_checkpoint
from ._extract import Skipped
from ._layout import to_float
from ._plan import LayerSpec, ModelPlan, plan_of

__all__ = ["is_adapter", "plan_adapter", "plan_adapter_path", "difference_plan", "lora_scale"]

_LORA = re.compile(
    r"^(?P<module>.+?)\.lora_(?P<emb>embedding_)?(?P<ab>[AB])(?:\.[^.]+)?(?:\.weight)?$"
)
_PREFIXES = ("base_model.model.", "base_model.")


def is_adapter(x: Any) -> bool:
    from ._loaders import is_pathlike

    if not is_pathlike(x):
        return False
    p = Path(x)
    return p.is_dir() and (p / "adapter_config.json").is_file()


def _module_name(module: str) -> str:
    for pre in _PREFIXES:
        if module.startswith(pre):
            return module[len(pre) :]
    return module


def _pattern_value(patterns: dict[str, Any], module: str, default: Any) -> Any:
    """PEFT's rank_pattern / alpha_pattern: a key matches a module name suffix or a regex."""
    for key, val in (patterns or {}).items():
        if module == key or module.endswith("." + key) or re.fullmatch(rf"(.*\.)?{key}", module):
            return val
    return default


def lora_scale(cfg: dict[str, Any], module: str, r: int) -> float:
    """The update scale ``lora_alpha / r`` (``/ √r`` with ``use_rslora``) of one module."""
    alpha = float(_pattern_value(cfg.get("alpha_pattern") or {}, module, cfg.get("lora_alpha", r)))
    if cfg.get("use_rslora"):
        return alpha / math.sqrt(r)
    return alpha / r


def _lora_spectrum(get_a, get_b, scale: float, N: int, M: int):
    """Exact ESD of ΔW = s·B·A (out × in): the r non-zero eigenvalues from the r × r core."""

    def spectrum(normalization: str) -> np.ndarray:
        A = np.asarray(to_float(get_a()), np.float64)  # (r, in)
        B = np.asarray(to_float(get_b()), np.float64)  # (out, r)
        _, Ra = np.linalg.qr(A.T)  # A.T = Qa Ra
        _, Rb = np.linalg.qr(B)  # B = Qb Rb
        core = Rb @ Ra.T  # ΔW = s Qb (Rb Raᵀ) Qaᵀ: same singular values
        sv = np.linalg.svd(core, compute_uv=False) * abs(scale)
        lam = sv**2 / (N if normalization == "N" else 1.0)
        out = np.zeros(M, np.float64)
        k = min(lam.size, M)
        out[M - k :] = np.sort(lam)[-k:] if k else out[M - k :]
        # the (M - r) exact zeros of a rank-r update
        return np.sort(out)

    return spectrum


def plan_adapter(
    ckpt: Checkpoint, *, base: ModelPlan | None, merged: bool | None = None
) -> ModelPlan:
    """The plan of a LoRA adapter: ΔW per target module, or W + ΔW with a base plan."""
    cfg = ckpt.adapter_config or {}
    ptype = str(cfg.get("peft_type", "LORA")).upper()
    if ptype not in ("LORA", "ADALORA") and ptype:
        raise ValueError(
            f"{str(ckpt.path)!r}: adapter type {ptype!r} is not supported (htrmt reads LoRA "
            "adapters: lora_A / lora_B pairs)"
        )
    if merged is None:
        merged = base is not None
    if merged and base is None:
        raise ValueError(
            f"{str(ckpt.path)!r} is an adapter: W + ΔW needs its base model "
            "(analyze(adapter, base=BASE), CLI --base BASE); without a base, ΔW is analysed"
        )
    pairs: dict[tuple[str, bool], dict[str, str]] = {}
    skipped: list[Skipped] = []
    for name, e in ckpt.entries.items():
        m = _LORA.match(name)
        if not m:
            skipped.append(Skipped(name, e.shape, "not a LoRA A/B matrix (e.g. modules_to_save)"))
            continue
        key = (_module_name(m.group("module")), bool(m.group("emb")))
        pairs.setdefault(key, {})[m.group("ab")] = name
    base_specs = {} if base is None else {s.source: s for s in base.layers}
    specs: list[LayerSpec] = []
    for (module, emb), ab in pairs.items():
        if set(ab) != {"A", "B"}:
            missing = "B" if "A" in ab else "A"
            raise ValueError(
                f"{str(ckpt.path)!r}: module {module!r} has lora_{'embedding_' if emb else ''}"
                f"{'AB'.replace(missing, '')} but no lora_{missing}"
            )
        ea, eb = ckpt.entries[ab["A"]], ckpt.entries[ab["B"]]
        if len(ea.shape) != 2 or len(eb.shape) != 2:
            skipped.append(
                Skipped(module, ea.shape, "LoRA of a conv layer (4-D A/B) is not supported")
            )
            continue
        r = ea.shape[0]
        if emb:  # A (r, vocab), B (dim, r): ΔW (vocab, dim) = (B A)ᵀ
            if eb.shape[1] != r:
                raise ValueError(f"{str(ckpt.path)!r}: {module!r}: lora_embedding ranks disagree")
            out_dim, in_dim = ea.shape[1], eb.shape[0]
        else:
            if eb.shape[1] != r:
                raise ValueError(
                    f"{str(ckpt.path)!r}: {module!r}: lora_A is {list(ea.shape)}, lora_B "
                    f"{list(eb.shape)}: their ranks disagree"
                )
            out_dim, in_dim = eb.shape[0], ea.shape[1]
        r_cfg = int(_pattern_value(cfg.get("rank_pattern") or {}, module, cfg.get("r", r)))
        scale = lora_scale(cfg, module, r_cfg)
        wname = f"{module}.weight"
        N, M = max(out_dim, in_dim), min(out_dim, in_dim)
        note = f"LoRA r={r}, scale {scale:g}" + (" (embedding)" if emb else "")
        get_a, get_b = ea.read, eb.read

        def delta(get_a=get_a, get_b=get_b, scale=scale, emb=emb) -> np.ndarray:
            A = to_float(get_a()).astype(np.float32)
            B = to_float(get_b()).astype(np.float32)
            d = scale * (B @ A)
            return d.T if emb else d

        if merged:
            bs = base_specs.get(wname)
            if bs is None:
                raise ValueError(
                    f"the adapter {str(ckpt.path)!r} targets {wname!r}, which the base "
                    f"{base.source!r} does not have"  # type: ignore[union-attr]
                )
            if bs.shape != (out_dim, in_dim) or bs.num_slices != 1:
                raise ValueError(
                    f"the adapter {str(ckpt.path)!r} updates {wname!r} with a "
                    f"{out_dim}x{in_dim} ΔW; the base's is {bs.shape[0]}x{bs.shape[1]}"
                )

            def merged_loader(bs=bs, delta=delta) -> np.ndarray:
                W = bs.loader()[0]
                return (W.astype(np.result_type(W.dtype, np.float32)) + delta())[None]

            specs.append(
                LayerSpec(
                    wname,
                    bs.kind,
                    bs.shape,
                    1,
                    wname,
                    bs.source_shape,
                    bs.dtype,
                    f"W + ΔW ({note})",
                    merged_loader,
                )
            )
        else:
            specs.append(
                LayerSpec(
                    wname,
                    "lora",
                    (out_dim, in_dim),
                    1,
                    f"{ab['B']} · {ab['A']}",
                    (out_dim, in_dim),
                    str(ea.dtype),
                    f"ΔW = s·B·A ({note})",
                    _stacked(delta),
                    spectrum=_lora_spectrum(get_a, get_b, scale, N, M),
                )
            )
    if not specs:
        raise ValueError(f"{str(ckpt.path)!r}: the adapter holds no LoRA A/B pairs")
    return plan_of(ckpt, specs, skipped)


def _stacked(fn: Any) -> Any:
    return lambda: fn()[None]


def plan_adapter_path(path: Any, *, base: ModelPlan | None, merged: bool | None) -> ModelPlan:
    return plan_adapter(open_checkpoint(path), base=base, merged=merged)


def difference_plan(model: ModelPlan, base: ModelPlan) -> ModelPlan:
    """``W − W_base`` for every layer present in both (by name); shapes must agree."""
    by_name = {s.name: s for s in base.layers}
    specs: list[LayerSpec] = []
    skipped = list(model.skipped)
    for s in model.layers:
        b = by_name.get(s.name)
        if b is None:
            skipped.append(Skipped(s.name, s.source_shape, f"not in the base {base.source!r}"))
            continue
        if (b.shape, b.num_slices) != (s.shape, s.num_slices):
            raise ValueError(
                f"layer {s.name!r} is {s.num_slices}x{s.shape[0]}x{s.shape[1]} in "
                f"{model.source!r} but {b.num_slices}x{b.shape[0]}x{b.shape[1]} in the base "
                f"{base.source!r}: a fine-tune and its base must have the same shapes"
            )

        def diff(s=s, b=b) -> np.ndarray:
            a = s.loader()
            # a new array: an in-memory model's own matrices are never modified
            return np.subtract(a, b.loader(), dtype=np.result_type(a.dtype, np.float32))

        specs.append(
            dataclasses.replace(
                s, loader=diff, spectrum=None, note=f"W - W_base{'; ' + s.note if s.note else ''}"
            )
        )
    if not specs:
        raise ValueError(
            f"{model.source!r} and the base {base.source!r} have no layer name in common"
        )
    return ModelPlan(
        tuple(specs), tuple(skipped), model.framework, model.source, model.config, model.files
    )
