"""Grids of parameter points, their canonical form, stable hashes and per-point keys."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from .._checks import check_int, check_key

__all__ = [
    "expand_grid",
    "canonical",
    "point_hash",
    "fold_value",
    "point_key",
    "trial_keys",
    "as_typed_key",
]

_SCALARS = (bool, int, float, str, type(None))


def _plain(value: Any, where: str) -> Any:
    """A JSON-friendly Python scalar (numpy scalars converted), or raise naming ``where``."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v, where) for v in value)
    if not isinstance(value, _SCALARS):
        raise TypeError(
            f"grid values must be bool, int, float, str, None or tuples of them; "
            f"got {where}={value!r} of type {type(value).__name__}"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"grid values must be finite, got {where}={value!r}")
    return value


def expand_grid(grid: Any) -> list[dict[str, Any]]:
    """The list of parameter points of ``grid``.

    Args:
        grid: a dict of lists (their Cartesian product, the last key varying fastest), or a
            list of parameter dicts (taken as they are; every dict must have the same keys).

    Returns:
        A list of dicts with plain Python values (numpy scalars converted).

    Raises:
        TypeError: ``grid`` is neither form, or a value is not a scalar.
        ValueError: the grid is empty, a list of values is empty, points repeat, or the dicts of a
            list have different keys.

    Example:
        >>> expand_grid({"mu": [1.5, 2.5], "M": [100]})
        [{'mu': 1.5, 'M': 100}, {'mu': 2.5, 'M': 100}]
    """
    if isinstance(grid, Mapping):
        if not grid:
            raise ValueError("grid is empty: give a dict of lists such as {'mu': [1.5, 2.5]}")
        names = list(grid)
        values = []
        for name in names:
            if not isinstance(name, str):
                raise TypeError(f"grid parameter names must be str, got {name!r}")
            vals = grid[name]
            if isinstance(vals, (str, bytes)) or not isinstance(vals, (Sequence, np.ndarray)):
                raise TypeError(
                    f"grid[{name!r}] must be a list of values, got {vals!r}; "
                    f"wrap a single value as [{vals!r}]"
                )
            vals = [_plain(v, name) for v in list(vals)]
            if not vals:
                raise ValueError(f"grid[{name!r}] is an empty list")
            values.append(vals)
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)]
    elif isinstance(grid, Sequence) and not isinstance(grid, (str, bytes)):
        if len(grid) == 0:
            raise ValueError("grid is an empty list of points")
        points = []
        keys0 = None
        for i, p in enumerate(grid):
            if not isinstance(p, Mapping):
                raise TypeError(f"grid[{i}] must be a dict of parameters, got {p!r}")
            p = {str(k): _plain(v, str(k)) for k, v in p.items()}
            if keys0 is None:
                keys0 = set(p)
            elif set(p) != keys0:
                raise ValueError(
                    f"every point of a list grid needs the same parameters: grid[0] has "
                    f"{sorted(keys0)}, grid[{i}] has {sorted(p)}"
                )
            points.append(p)
    else:
        raise TypeError(
            f"grid must be a dict of lists or a list of dicts, got {type(grid).__name__}"
        )
    seen: dict[str, int] = {}
    for i, p in enumerate(points):
        c = canonical(p)
        if c in seen:
            raise ValueError(f"grid has the point {p} twice (positions {seen[c]} and {i})")
        seen[c] = i
    return points


def canonical(point: Mapping[str, Any]) -> str:
    """The canonical JSON text of a point (sorted keys, no spaces): its stable identity."""
    return json.dumps(
        {k: list(v) if isinstance(v, tuple) else v for k, v in point.items()},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )


def point_hash(point: Mapping[str, Any]) -> str:
    """SHA-256 hex digest of :func:`canonical` (stable across runs and machines)."""
    return hashlib.sha256(canonical(point).encode()).hexdigest()


def as_typed_key(key: Any) -> jax.Array:
    """A new-style typed key (legacy ``uint32[2]`` keys are wrapped).

    The raw data of a key as a NumPy ``uint32[2]`` array (``np.array([0, seed], np.uint32)``
    is the data of ``jax.random.key(seed)``) is accepted too: made without running JAX, it
    lets :func:`htrmt.sweep.run` start ``jax.distributed`` itself.
    """
    if isinstance(key, np.ndarray) and key.dtype == np.uint32 and key.shape == (2,):
        return jax.random.wrap_key_data(jax.numpy.asarray(key))
    key = check_key(key)
    if key.shape != ():
        raise ValueError(
            f"key must be a single key (shape ()), got a key array of shape {key.shape}"
        )
    if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    return jax.random.wrap_key_data(key)


def fold_value(point: Mapping[str, Any]) -> int:
    """The 31-bit value folded into the sweep's key for ``point`` (from its SHA-256)."""
    return int(point_hash(point)[:8], 16) & 0x7FFFFFFF


def point_key(key: Any, point: Mapping[str, Any]) -> jax.Array:
    """The key of one grid point: ``fold_in(key, h)`` with ``h`` 31 bits of the point's hash.

    Depends only on ``key`` and the point's values, not on its position in the grid, the
    order of the run, the chunking or the devices: a resumed or reordered sweep draws the same
    numbers. Two points of a grid of P points share their keys with probability about
    ``P²/2³²`` (1e-4 at P = 1000); they then use common random numbers, which leaves each
    point's results valid but correlates the two; :func:`htrmt.sweep.run` warns when it happens.
    """
    return jax.random.fold_in(as_typed_key(key), fold_value(point))


def trial_keys(key: Any, point: Mapping[str, Any], trials: int) -> jax.Array:
    """The ``trials`` keys of one grid point: ``jax.random.split(point_key(key, point), trials)``.

    Example:
        >>> import jax
        >>> ks = trial_keys(jax.random.key(0), {"mu": 2.5}, 8)
        >>> ks.shape
        (8,)
    """
    trials = check_int(trials, "trials", ge=1)
    return jax.random.split(point_key(key, point), trials)
