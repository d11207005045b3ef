"""Reading weight files: ``.npz``, ``.safetensors`` and PyTorch ``.pt``/``.pth``/``.bin``.

Nothing here unpickles arbitrary objects: ``.npz`` files are opened with
``allow_pickle=False``, PyTorch files with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["load_file", "is_pathlike", "SUFFIXES"]

SUFFIXES = (".npz", ".safetensors", ".pt", ".pth", ".bin", ".ckpt")


def is_pathlike(x: Any) -> bool:
    return isinstance(x, (str, os.PathLike))


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
