"""Reading weight files: ``.npz``, ``.safetensors`` and PyTorch ``.pt``/``.pth``/``.bin``.

Nothing here unpickles arbitrary objects: ``.npz`` files are opened with
``allow_pickle=False``, PyTorch files with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["load_file", "is_pathlike", "SUFFIXES"]

SUFFIXES = (".npz", ".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def is_pathlike(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


def load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{str(path)!r} is not a readable .npz file of arrays: {err}") from None


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file as _load
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading .safetensors files needs the 'safetensors' package: pip install safetensors"
        ) from None
    try:
        return dict(_load(str(path)))
    except Exception as err:
        msg = str(err)
        if "bfloat16" in msg.lower() or "bf16" in msg.lower():
            try:
                from safetensors.torch import load_file as _tload

                return {k: v for k, v in _tload(str(path)).items()}
            except ImportError:
                pass
        raise ValueError(f"{str(path)!r} is not a readable .safetensors file: {err}") from None


def load_torch(path: Path) -> dict[str, Any]:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"reading {path.suffix} files needs PyTorch (the optional 'torch' extra): "
            "pip install torch"
        ) from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(
            f"{str(path)!r} could not be read as a PyTorch state dict with weights_only=True "
            f"(arbitrary pickled objects are never loaded): {err}"
        ) from None
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"{str(path)!r} holds a {type(obj).__name__}, not a state dict (a mapping of names to "
            "tensors)"
        )
    return dict(obj)


def load_file(path: Any) -> tuple[str, dict[str, Any]]:
    """Read every tensor of a weight file, index or model folder: ``(framework, {name: array})``.

    Arrays keep their stored dtype (``bfloat16`` from ``ml_dtypes``). This reads the whole
    model into memory; :func:`htrmt.networks.describe` and :func:`htrmt.analyze` read one tensor
    at a time instead.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: an unknown suffix, or content that is not a set of named arrays.
    """
    from ._checkpoint import open_checkpoint

    ckpt = open_checkpoint(path)
    return ckpt.framework, {name: e.read() for name, e in ckpt.entries.items()}
