"""The grid × trials runner: vmapped trials, sharded over devices, resumable output."""

from __future__ import annotations

import collections
import contextlib
import hashlib
import inspect
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .._checks import check_int
from ._grid import as_typed_key, canonical, expand_grid, fold_value, trial_keys
from ._meta import atomic_write_bytes, atomic_write_json, environment, now
from ._store import (
    FORMAT,
    INDEX_NAME,
    LOCK_NAME,
    META_NAME,
    POINTS_DIR,
    SweepMismatchError,
    SweepResults,
    append_index,
    fingerprint_diff,
    leaf_name,
    load,
    point_file,
    read_index,
    read_meta,
    repair_index,
)

__all__ = ["run"]


def _fn_name(fn: Callable) -> str:
    mod = getattr(fn, "__module__", None) or "?"
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(type(fn))
    return f"{mod}.{qual}"


def _fn_source_hash(fn: Callable) -> str | None:
    try:
        return hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()
    except (OSError, TypeError):
        return None


def _axes(points: list[dict[str, Any]]) -> dict[str, list]:
    """The distinct values of each parameter, in order of first appearance."""
    axes: dict[str, list] = {k: [] for k in points[0]}
    for p in points:
        for k, v in p.items():
            if v not in axes[k]:
                axes[k].append(v)
    return axes


def _resolve_devices(devices: Any) -> list:
    if devices is None:
        return list(jax.devices())
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        all_devs = jax.devices()
        n = check_int(devices, "devices", ge=1)
        if n > len(all_devs):
            raise ValueError(f"devices={n} but only {len(all_devs)} devices are available")
        return list(all_devs[:n])
    devs = list(devices)
    if not devs:
        raise ValueError("devices is an empty list")
    return devs


def _split_params(
    point: Mapping[str, Any], static: Iterable[str] | None
) -> tuple[dict[str, Any], dict[str, Any]]:
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


@contextlib.contextmanager
def _lock(out: Path):
    path = out / LOCK_NAME
    f = open(path, "a+")
    try:
        try:
            import fcntl

            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(
                    f"sweep output folder {str(out)!r} is in use by another running sweep "
                    f"(it holds {str(path)!r}); wait for it or pick another folder"
                ) from None
        except ImportError:  # pragma: no cover - non-POSIX: no locking
            pass
        yield
    finally:
        f.close()


_COMPILED: collections.OrderedDict = collections.OrderedDict()
_COMPILED_MAX = 64


class _Batched:
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
        tag = (self.fn, canonical(static), self.dev_tag)
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
                parts[i].append(_to_host(leaf)[:m])
        assert names is not None
        return {name: np.concatenate(p, axis=0) for name, p in zip(names, parts, strict=True)}


def _to_host(x: jax.Array) -> np.ndarray:
    if jax.process_count() > 1:  # pragma: no cover - multi-host only
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def run(
    key: jax.Array,
    fn: Callable[..., Any],
    grid: Mapping[str, Sequence[Any]] | Sequence[Mapping[str, Any]],
    *,
    trials: int,
    out: str | os.PathLike,
    static: Iterable[str] | None = None,
    chunk_size: int | None = None,
    devices: Any = None,
    progress: bool = True,
    name: str | None = None,
    meta: Mapping[str, Any] | None = None,
) -> SweepResults:
    """Run ``fn`` for ``trials`` independent keys at every point of ``grid``, resumably.

    At each grid point the trials are one ``jax.vmap`` of ``fn`` over the point's trial keys,
    compiled once per set of static parameters, the batch of trials sharded over ``devices``
    (a 1-D :class:`jax.sharding.Mesh` with axis ``"trials"``; the batch is padded to a multiple
    of the device count and the pad dropped). The results of a point are written to
    ``out/points/<hash>.npz`` atomically as soon as the point completes, and a line is appended to
    ``out/index.jsonl``. Calling ``run`` again with the same arguments skips the completed
    points: a run killed at any moment (even by SIGKILL) and started again completes every point
    exactly once, and the numbers do not depend on where it was interrupted, on ``chunk_size``
    or on the number of devices (up to floating-point reassociation inside XLA kernels).

    Keys: trial ``i`` of point ``p`` gets ``jax.random.split(fold_in(key, h(p)), trials)[i]``
    where ``h(p)`` is a stable hash of the point's parameter values (:func:`trial_keys`).

    Parameters are passed to ``fn`` as keyword arguments. Static parameters are Python values
    (sizes, strings, flags: changing them recompiles); the others are traced scalars (one
    compilation serves every value). By default floats are traced and everything else is static.

    Multi-host (not tested here): the mesh spans ``jax.devices()`` of every process; every
    process must call ``run`` with the same arguments and see the same output folder (a shared
    file system), so that all agree on the points left to compute; process 0 writes.

    Args:
        key: a ``jax.random`` key: the seed of the whole sweep.
        fn: one trial, ``fn(key, **params) -> pytree of arrays``; pure and jit-compatible.
        grid: a dict of lists (the Cartesian product, last key fastest) or a list of dicts.
        trials: number of independent trials per point (static int >= 1).
        out: output folder (created if missing). A folder holding another sweep is refused.
        static: names of the parameters passed as Python values; ``None``: every parameter
            whose value is not a float.
        chunk_size: trials per vmapped batch (bounds memory); ``None``: all trials at once.
            Rounded up to a multiple of the device count.
        devices: the devices to shard trials over: ``None`` (all of ``jax.devices()``), a count
            (the first n) or a list of devices.
        progress: show a tqdm progress bar over grid points.
        name: identity of ``fn`` recorded in and checked against the folder; default
            ``"<module>.<qualname>"``.
        meta: extra JSON-serialisable metadata for the sidecar (e.g. ``{"seed": 0}``).

    Returns:
        The :class:`SweepResults` of the folder (every point).

    Raises:
        SweepMismatchError: ``out`` holds a sweep with another grid, function name, key,
            number of trials or precision (``jax_enable_x64``); the message names the folder and
            each difference.
        RuntimeError: another process is running a sweep in ``out``.
        TypeError, ValueError: bad arguments (named in the message).

    Example:
        >>> import jax, htrmt as ht
        >>> def trial(key, *, mu, M):
        ...     lam = ht.esd(ht.ensembles.pareto(key, (2 * M, M), mu=mu))
        ...     return {"lam_max": lam[-1], "mean": lam.mean()}
        >>> res = ht.sweep.run(jax.random.key(0), trial, {"mu": [2.5, 3.5], "M": [50, 100]},
        ...                    trials=16, out="out/demo", progress=False)   # doctest: +SKIP
        >>> res.stack("lam_max").shape                                        # doctest: +SKIP
        (4, 16)
        >>> res.to_pandas().groupby(["mu", "M"]).lam_max.median()             # doctest: +SKIP
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {fn!r}")
    key = as_typed_key(key)
    trials = check_int(trials, "trials", ge=1)
    points = expand_grid(grid)
    if static is not None:
        if isinstance(static, str):
            static = (static,)
        static = tuple(static)
        unknown = set(static) - set(points[0])
        if unknown:
            raise ValueError(
                f"static names parameters not in the grid: {sorted(unknown)}; "
                f"the grid has {sorted(points[0])}"
            )
    folds: dict[int, dict[str, Any]] = {}
    for p in points:
        h = fold_value(p)
        if h in folds:
            import warnings

            warnings.warn(
                f"grid points {folds[h]} and {p} get the same random keys (a 31-bit hash "
                "collision): their trials use common random numbers",
                stacklevel=2,
            )
        folds[h] = p
    devs = _resolve_devices(devices)
    ndev = len(devs)
    if chunk_size is None:
        chunk = trials
    else:
        chunk = check_int(chunk_size, "chunk_size", ge=1)
        chunk = min(chunk, trials)
    chunk = -(-chunk // ndev) * ndev
    fn_name = name if name is not None else _fn_name(fn)
    if not isinstance(fn_name, str):
        raise TypeError(f"name must be a str, got name={fn_name!r}")

    fingerprint = json.loads(
        json.dumps(
            {
                "fn": fn_name,
                "grid": points,
                "trials": trials,
                "key": np.asarray(jax.random.key_data(key)).tolist(),
                "key_impl": str(jax.random.key_impl(key)),
                "x64": bool(jax.config.jax_enable_x64),
            }
        )
    )
    user_meta = json.loads(json.dumps(dict(meta or {}), allow_nan=False))

    out = Path(out)
    writer = jax.process_index() == 0
    if writer:
        out.mkdir(parents=True, exist_ok=True)
        (out / POINTS_DIR).mkdir(exist_ok=True)
    lock = _lock(out) if writer else contextlib.nullcontext()
    with lock:
        old = read_meta(out) if out.is_dir() else None
        if old is None and writer:
            stray = [
                p.name
                for p in out.iterdir()
                if p.name not in (LOCK_NAME, POINTS_DIR, INDEX_NAME)
                and not p.name.startswith(".tmp-")
            ]
            if stray or any(not f.name.startswith(".tmp-") for f in (out / POINTS_DIR).iterdir()):
                raise SweepMismatchError(
                    f"output folder {str(out)!r} is not empty and holds no {META_NAME} "
                    f"(found {sorted(stray)[:5]}): refusing to write a sweep into it"
                )
        elif old is None:  # pragma: no cover - multi-host, process > 0 before process 0 wrote
            pass
        elif old.get("format") != FORMAT:
            raise SweepMismatchError(
                f"output folder {str(out)!r} holds format {old.get('format')!r}, not {FORMAT!r}"
            )
        else:
            diffs = fingerprint_diff(old["fingerprint"], fingerprint)
            if diffs:
                raise SweepMismatchError(
                    f"output folder {str(out)!r} holds a different sweep; refusing to mix them. "
                    "Differences: " + "; ".join(diffs) + ". Use another folder or delete this one."
                )
        env = environment()
        run_record = {
            "start": now(),
            "devices": [str(d) for d in devs],
            "chunk_size": chunk,
            "pid": os.getpid(),
        }
        if old is None:
            sidecar = {
                "format": FORMAT,
                "fingerprint": fingerprint,
                "axes": _axes(points),
                "params": list(points[0]),
                "static": list(static) if static is not None else None,
                "fn_source_sha256": _fn_source_hash(fn),
                "meta": user_meta,
                "environment": env,
                "created": now(),
                "runs": [],
                "complete": False,
            }
            sidecar = json.loads(json.dumps(sidecar, allow_nan=False))
        else:
            sidecar = old
            src = _fn_source_hash(fn)
            if src is not None and old.get("fn_source_sha256") not in (None, src):
                import warnings

                warnings.warn(
                    f"the source of {fn_name} changed since {str(out)!r} was started; "
                    "completed points keep their old results",
                    stacklevel=2,
                )
            sidecar["meta"] = {**sidecar.get("meta", {}), **user_meta}
            sidecar["environment"] = env
        sidecar["runs"].append(run_record)
        run_no = len(sidecar["runs"])
        if writer:
            atomic_write_json(out / META_NAME, sidecar)

            # Repair what a killed run may have left: temp files, a partial index line,
            # completed points whose index line was not written yet.
            for d in (out, out / POINTS_DIR):
                for f in d.iterdir():
                    if f.name.startswith(".tmp-"):
                        f.unlink(missing_ok=True)
            repair_index(out)
        indexed = {row.get("point") for row in read_index(out)} if writer else set()
        done = set()
        for i, p in enumerate(points):
            c = canonical(p)
            if (out / POINTS_DIR / point_file(p)).exists():
                done.add(c)
                if c not in indexed and writer:
                    append_index(
                        out,
                        {
                            "i": i,
                            "point": c,
                            "file": point_file(p),
                            "run": run_no,
                            "time": now(),
                            "recovered": True,
                        },
                    )
        todo = [(i, p) for i, p in enumerate(points) if canonical(p) not in done]

        batched = _Batched(fn, devs)
        from tqdm.auto import tqdm

        bar = tqdm(
            total=len(points),
            initial=len(points) - len(todo),
            desc=fn_name.rsplit(".", 1)[-1],
            unit="pt",
            disable=not progress,
        )
        computed = 0
        try:
            for i, p in todo:
                bar.set_postfix_str(", ".join(f"{k}={v}" for k, v in p.items()), refresh=False)
                stat, dyn = _split_params(p, static)
                t0 = time.perf_counter()
                res = batched(stat, dyn, trial_keys(key, p, trials), chunk)
                dt = time.perf_counter() - t0
                if writer:
                    atomic_write_bytes(
                        out / POINTS_DIR / point_file(p),
                        writer=lambda f, res=res: np.savez(f, **res),
                    )
                    append_index(
                        out,
                        {
                            "i": i,
                            "point": canonical(p),
                            "file": point_file(p),
                            "run": run_no,
                            "time": now(),
                            "seconds": round(dt, 4),
                        },
                    )
                computed += 1
                bar.update(1)
        finally:
            bar.close()
            if writer:
                run_record["end"] = now()
                run_record["computed"] = computed
                sidecar["complete"] = computed == len(todo)
                atomic_write_json(out / META_NAME, sidecar)
    return load(out)
