"""The compute side of a sweep: one compiled, vmapped trial function sharded over devices."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .._checks import check_int
from ._grid import canonical
from ._store import leaf_name

__all__ = ["Batched", "resolve_devices", "split_params"]


def resolve_devices(devices: Any) -> list:
    """The devices to shard trials over: all of this process's devices, the first n, or a list.

    Only this process's own devices (:func:`jax.local_devices`) are used: in a sweep over
    several processes every process computes its own grid points.
    """
    local = jax.local_devices()
    if devices is None:
        return list(local)
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        n = check_int(devices, "devices", ge=1)
        if n > len(local):
            raise ValueError(f"devices={n} but only {len(local)} devices are available")
        return list(local[:n])
    devs = list(devices)
    if not devs:
        raise ValueError("devices is an empty list")
    me = jax.process_index()
    other = [d for d in devs if getattr(d, "process_index", me) != me]
    if other:
        raise ValueError(
            f"devices must be devices of this process (process {me}); got {other[:3]} of "
            "other processes: in a sweep over several processes each one uses its own devices"
        )
    return devs


def split_params(
    point: Mapping[str, Any], static: Iterable[str] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The static (Python) and traced parameters of a point; by default floats are traced."""
    if static is None:
        st = {k for k, v in point.items() if not (isinstance(v, float) and not isinstance(v, bool))}
    else:
        st = set(static)
    stat = {k: v for k, v in point.items() if k in st}
    dyn = {}
    for k, v in point.items():
        if k in st:
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(
                f"grid parameter {k}={v!r} is not a number, so it must be static: "
                f"add {k!r} to static="
            )
        dyn[k] = v
    return stat, dyn


_COMPILED: collections.OrderedDict = collections.OrderedDict()
_COMPILED_MAX = 64


class Batched:
    """One compiled, sharded, vmapped trial function per set of static parameters.

    The jitted functions are kept in a small process-wide LRU cache keyed by (fn, static
    parameters, devices), so running the same sweep function again in one process does not
    recompile.
    """

    def __init__(self, fn: Callable, devices: list):
        self.fn = fn
        self.devices = devices
        self.mesh = Mesh(np.asarray(devices, dtype=object), ("trials",))
        self.sharded = NamedSharding(self.mesh, PartitionSpec("trials"))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self.dev_tag = tuple((d.platform, d.id) for d in devices)

    def get(self, static: Mapping[str, Any]) -> Callable:
        tag: tuple | None = (self.fn, canonical(static), self.dev_tag)
        try:
            f = _COMPILED.get(tag)
        except TypeError:  # an unhashable callable: no caching
            tag, f = None, None
        if f is not None:
            _COMPILED.move_to_end(tag)
        else:
            fn = self.fn

            def one(key, dyn):
                return fn(key, **static, **dyn)

            f = jax.jit(
                jax.vmap(one, in_axes=(0, None)),
                in_shardings=(self.sharded, self.replicated),
                out_shardings=self.sharded,
            )
            if tag is not None:
                _COMPILED[tag] = f
                while len(_COMPILED) > _COMPILED_MAX:
                    _COMPILED.popitem(last=False)
        return f

    def __call__(self, static, dyn, keys: jax.Array, chunk: int) -> dict[str, np.ndarray]:
        """The outputs of ``len(keys)`` trials, ``chunk`` at a time, as host arrays by leaf name."""
        f = self.get(static)
        dyn_arrays = {k: jnp.asarray(v) for k, v in dyn.items()}
        n = keys.shape[0]
        parts: list[list[np.ndarray]] = []
        names: list[str] | None = None
        for start in range(0, n, chunk):
            k = keys[start : start + chunk]
            m = k.shape[0]
            if m < chunk:  # pad with copies of the first key; the pad is dropped below
                k = jnp.concatenate([k, jnp.broadcast_to(k[:1], (chunk - m,))])
            k = jax.device_put(k, self.sharded)
            out = f(k, dyn_arrays)
            leaves = jax.tree_util.tree_flatten_with_path(out)[0]
            if names is None:
                names = [leaf_name(p) for p, _ in leaves]
                if len(set(names)) != len(names):
                    raise ValueError(f"the trial function's outputs have clashing names {names}")
                parts = [[] for _ in names]
            for i, (_, leaf) in enumerate(leaves):
                parts[i].append(np.asarray(leaf)[:m])
        assert names is not None
        return {name: np.concatenate(p, axis=0) for name, p in zip(names, parts, strict=True)}
