"""The embedded default model: a small equinox CNN trained on scikit-learn's digits.

``htrmt analyze`` with no path analyses it. Its weights (``htrmt/data/default_model.npz``,
float32, one array per parameter path, read with ``allow_pickle=False``) and a JSON sidecar
(training settings, test accuracy, git commit) are produced by ``tools/train_default_model.py``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["default_model", "default_model_path", "default_model_info", "leaf_names"]

_FILE = "default_model.npz"


def _eqx():
    import equinox as eqx

    return eqx


def _make_class():
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    class DigitsCNN(eqx.Module):
        """Conv(1→16, 3×3) → ReLU → Conv(16→32, 3×3) → ReLU → 2×2 max-pool → Linear(512→256)
        → ReLU → Linear(256→128) → ReLU → Linear(128→10), on 8×8 digit images ``(1, 8, 8)``."""

        conv1: eqx.nn.Conv2d
        conv2: eqx.nn.Conv2d
        fc1: eqx.nn.Linear
        fc2: eqx.nn.Linear
        fc3: eqx.nn.Linear

        def __init__(self, key):
            k = jax.random.split(key, 5)
            self.conv1 = eqx.nn.Conv2d(1, 16, 3, padding=1, key=k[0])
            self.conv2 = eqx.nn.Conv2d(16, 32, 3, padding=1, key=k[1])
            self.fc1 = eqx.nn.Linear(32 * 4 * 4, 256, key=k[2])
            self.fc2 = eqx.nn.Linear(256, 128, key=k[3])
            self.fc3 = eqx.nn.Linear(128, 10, key=k[4])

        def __call__(self, x):
            x = jax.nn.relu(self.conv1(x))
            x = jax.nn.relu(self.conv2(x))
            x = x.reshape(32, 4, 2, 4, 2).max(axis=(2, 4))
            x = x.reshape(-1)
            x = jax.nn.relu(self.fc1(x))
            x = jax.nn.relu(self.fc2(x))
            return self.fc3(x)

    DigitsCNN.__module__ = __name__
    _ = jnp
    return DigitsCNN


_CLASS: Any = None


def __getattr__(name: str) -> Any:
    global _CLASS
    if name == "DigitsCNN":
        if _CLASS is None:
            _CLASS = _make_class()
        return _CLASS
    raise AttributeError(name)


def leaf_names(model: Any) -> list[tuple[str, Any]]:
    """``(dotted path, array)`` for every array leaf of an equinox model, in pytree order."""
    import equinox as eqx
    import jax

    from ._extract import _path_name

    def is_arr(x):
        return eqx.is_array(x) or isinstance(x, jax.ShapeDtypeStruct)

    leaves, _ = jax.tree_util.tree_flatten_with_path(eqx.filter(model, is_arr))
    return [(_path_name(p), x) for p, x in leaves]


def default_model_path() -> Path:
    """Path of the committed weight file of the default model."""
    return Path(str(resources.files("htrmt") / "data" / _FILE))


def default_model_info() -> dict[str, Any]:
    """The JSON sidecar of the default model (training settings and test accuracy)."""
    p = default_model_path().with_suffix(".json")
    return json.loads(p.read_text()) if p.exists() else {}


def default_model() -> Any:
    """The embedded default model: an equinox ``DigitsCNN`` with its trained weights.

    Returns:
        An equinox Module (float32 weights).

    Raises:
        FileNotFoundError: the weight file is missing (run ``tools/train_default_model.py``).
        ValueError: the file does not match the architecture.

    Example:
        >>> import htrmt as ht
        >>> [l.name for l in ht.networks.extract(ht.networks.default_model()).layers][:2]
        ['conv1.weight', 'conv2.weight']
    """
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    path = default_model_path()
    if not path.exists():
        raise FileNotFoundError(
            f"the default model weights are missing ({path}); run tools/train_default_model.py"
        )
    cls = __getattr__("DigitsCNN")
    skeleton = eqx.filter_eval_shape(cls, jax.random.key(0))  # shapes only, nothing computed
    with np.load(path, allow_pickle=False) as z:
        stored = {k: z[k] for k in z.files}
    names = leaf_names(skeleton)
    missing = [n for n, _ in names if n not in stored]
    if missing:
        raise ValueError(f"{path} lacks parameters {missing}")
    for n, x in names:
        if stored[n].shape != x.shape:
            raise ValueError(
                f"{path}: parameter {n!r} has shape {stored[n].shape}, expected {x.shape}"
            )
    new = [jnp.asarray(stored[n]) for n, _ in names]
    params, static = eqx.partition(skeleton, lambda x: isinstance(x, jax.ShapeDtypeStruct))
    treedef = jax.tree_util.tree_structure(params)
    return eqx.combine(jax.tree_util.tree_unflatten(treedef, new), static)
