"""The grid × trials runner: a short loop over a :class:`SweepStore`.

The loop (:func:`run`) takes this process's share of the grid points, asks the store which of
them are done, computes the others with :class:`~htrmt.sweep._batched.Batched` and hands each
point's results to the store as soon as it completes. Everything about the output folder (what
it must hold, how it is repaired after a kill, how several processes share it) is the store's.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import jax
import numpy as np

from .._checks import check_int
from ._batched import Batched, resolve_devices, split_params
from ._grid import as_typed_key, canonical, expand_grid, fold_value, point_hash, trial_keys
from ._meta import atomic_write_bytes, atomic_write_json, environment, now
from ._processes import Processes, describe, processes
from ._store import (
    FORMAT,
    META_NAME,
    POINTS_DIR,
    SIDECAR_LOCK_NAME,
    SweepMismatchError,
    SweepResults,
    append_index,
    fingerprint_diff,
    is_store_file,
    load,
    lock_name,
    point_file,
    read_index,
    read_meta,
    repair_index,
)

__all__ = ["run", "SweepStore"]

_CALLS = [0]  # the number of coordinated runs this process has finished (names its barriers)


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


@contextlib.contextmanager
def _flock(path: Path, *, wait: bool, busy: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``; without ``wait``, raise ``RuntimeError(busy)``."""
    f = open(path, "a+")
    try:
        try:
            import fcntl

            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RuntimeError(busy) from None
        except ImportError:  # pragma: no cover - non-POSIX: no locking
            pass
        yield
    finally:
        f.close()


class SweepStore:
    """The output folder of one sweep, as one process of the run sees it.

    :func:`run` is a loop over its methods::

        with store.open():                 # create the folder, hold this process's lock
            store.verify(new, record, fn=fn)   # refuse another sweep; record this run
            store.repair()                 # undo what a killed run left behind
            done = store.done()            # the points complete on disk
            for i, point in store.mine():  # this process's share, if not in done:
                store.write(i, point, results, seconds)
            store.close(computed)          # finish this run's record (also on an error)

    A point is complete iff its ``points/<h>.npz`` exists (written atomically). With several
    processes (``procs.count > 1``) each one writes only the points it owns (``i % count``),
    appends to its own index file and holds its own lock; ``sweep.json`` is only read, changed
    and rewritten under ``.sidecar.lock``, so no write of one process can tear another's.

    Args:
        out: the output folder.
        points: the sweep's grid points, in grid order.
        fingerprint: what identifies the sweep (fn name, grid, trials, key, x64); a folder with
            another fingerprint is refused.
        procs: this process's share (a :class:`~htrmt.sweep._processes.Processes`; default:
            one process doing every point).
    """

    def __init__(
        self,
        out: str | os.PathLike,
        points: list[dict[str, Any]],
        fingerprint: Mapping[str, Any],
        procs: Processes | None = None,
    ):
        self.out = Path(out)
        self.points = points
        self.fingerprint = dict(fingerprint)
        self.procs = procs if procs is not None else Processes()
        self.run_no = 0  # this run's number in the sidecar's "runs" (1-based), set by verify
        self._record: dict[str, Any] = {}

    # -- locks ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def open(self) -> Iterator[SweepStore]:
        """Create the folder and hold this process's lock on it for the ``with`` block.

        Raises:
            RuntimeError: another running sweep (or the same process number of another run)
                holds the lock.
        """
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / POINTS_DIR).mkdir(exist_ok=True)
        path = self.out / lock_name(self.procs.index)
        busy = (
            f"sweep output folder {str(self.out)!r} is in use by another running sweep "
            f"(it holds {str(path)!r}); wait for it or pick another folder"
        )
        with _flock(path, wait=False, busy=busy):
            yield self

    def _sidecar(self) -> contextlib.AbstractContextManager[None]:
        return _flock(self.out / SIDECAR_LOCK_NAME, wait=True, busy="")

    # -- the loop's steps ----------------------------------------------------------------------
    def verify(self, new: Mapping[str, Any], record: Mapping[str, Any], *, fn: Callable) -> None:
        """Refuse a folder holding something else, then record this run in ``sweep.json``.

        Args:
            new: the sidecar of a new folder (``fingerprint``, ``axes``, ``meta``, ...).
            record: this run's entry of the sidecar's ``runs`` list.
            fn: the trial function (its source is compared with the one recorded).

        Raises:
            SweepMismatchError: the folder is not empty and holds no sweep, holds another
                format, or another sweep (the message names the folder and each difference).
        """
        out = self.out
        with self._sidecar():
            old = read_meta(out)
            if old is None:
                stray = [p.name for p in out.iterdir() if not is_store_file(p.name)]
                if stray or any(
                    not f.name.startswith(".tmp-") for f in (out / POINTS_DIR).iterdir()
                ):
                    raise SweepMismatchError(
                        f"output folder {str(out)!r} is not empty and holds no {META_NAME} "
                        f"(found {sorted(stray)[:5]}): refusing to write a sweep into it"
                    )
                sidecar = json.loads(json.dumps(dict(new), allow_nan=False))
            elif old.get("format") != FORMAT:
                raise SweepMismatchError(
                    f"output folder {str(out)!r} holds format {old.get('format')!r}, "
                    f"not {FORMAT!r}"
                )
            else:
                diffs = fingerprint_diff(old["fingerprint"], self.fingerprint)
                if diffs:
                    raise SweepMismatchError(
                        f"output folder {str(out)!r} holds a different sweep; refusing to mix "
                        "them. Differences: " + "; ".join(diffs) + ". Use another folder or "
                        "delete this one."
                    )
                sidecar = old
                src = _fn_source_hash(fn)
                if src is not None and old.get("fn_source_sha256") not in (None, src):
                    warnings.warn(
                        f"the source of {self.fingerprint['fn']} changed since {str(out)!r} was "
                        "started; completed points keep their old results",
                        stacklevel=3,
                    )
                sidecar["meta"] = {**sidecar.get("meta", {}), **new.get("meta", {})}
                sidecar["environment"] = new["environment"]
            self._record = dict(record)
            sidecar["runs"].append(self._record)
            self.run_no = len(sidecar["runs"])
            # a killed rewrite of sweep.json leaves a temp file; only a holder of the sidecar
            # lock writes one, so removing them here cannot race with another process
            for f in out.iterdir():
                if f.name.startswith(".tmp-"):
                    f.unlink(missing_ok=True)
            atomic_write_json(out / META_NAME, sidecar)

    def mine(self) -> list[tuple[int, dict[str, Any]]]:
        """This process's ``(position, point)`` pairs: those with ``i % count == index``."""
        return [(i, p) for i, p in enumerate(self.points) if self.procs.owns(i)]

    def repair(self) -> None:
        """Undo what a killed run of this process left: temp files, a partial index line, points
        written but not indexed (an index line marked ``"recovered"`` is appended for each).

        Only this process's own points and index file are touched: the others' may be being
        written right now.
        """
        out, me = self.out, self.procs.index
        owner = {point_file(p): i % self.procs.count for i, p in enumerate(self.points)}
        for f in (out / POINTS_DIR).iterdir():
            if f.name.startswith(".tmp-"):
                target = f.name[len(".tmp-") :].rsplit("-", 1)[0]
                if owner.get(target, 0) == me:
                    f.unlink(missing_ok=True)
        repair_index(out, me)
        indexed = {row.get("point") for row in read_index(out)}
        for i, p in self.mine():
            c = canonical(p)
            if c not in indexed and (out / POINTS_DIR / point_file(p)).exists():
                self._index(i, p, recovered=True)

    def done(self) -> set[str]:
        """The canonical forms (:func:`~htrmt.sweep._grid.canonical`) of the points on disk."""
        pdir = self.out / POINTS_DIR
        return {canonical(p) for p in self.points if (pdir / point_file(p)).exists()}

    def write(
        self, i: int, point: Mapping[str, Any], results: Mapping[str, np.ndarray], seconds: float
    ) -> None:
        """Write one point's results atomically, then append its index line."""
        atomic_write_bytes(
            self.out / POINTS_DIR / point_file(point),
            writer=lambda f: np.savez(f, **cast(dict[str, Any], results)),
        )
        self._index(i, point, seconds=round(seconds, 4))

    def close(self, computed: int) -> None:
        """Finish this run's record: its end, the points it computed, whether all are done."""
        with self._sidecar():
            sidecar = read_meta(self.out)
            if sidecar is None or len(sidecar.get("runs", [])) < self.run_no:  # pragma: no cover
                return
            record = sidecar["runs"][self.run_no - 1]
            record["end"] = now()
            record["computed"] = computed
            sidecar["complete"] = len(self.done()) == len(self.points)
            atomic_write_json(self.out / META_NAME, sidecar)

    def _index(self, i: int, point: Mapping[str, Any], **extra: Any) -> None:
        row = {"i": i, "point": canonical(point), "file": point_file(point), "run": self.run_no}
        row["time"] = now()
        row.update(extra)
        append_index(self.out, row, self.procs.index)


def _check_static(
    static: Iterable[str] | None, points: list[dict[str, Any]]
) -> tuple[str, ...] | None:
    """``static`` as a tuple of names of the grid's parameters (or ``None``)."""
    if static is None:
        return None
    static = (static,) if isinstance(static, str) else tuple(static)
    unknown = set(static) - set(points[0])
    if unknown:
        raise ValueError(
            f"static names parameters not in the grid: {sorted(unknown)}; "
            f"the grid has {sorted(points[0])}"
        )
    return static


def _warn_shared_keys(points: list[dict[str, Any]]) -> None:
    """Warn (at the caller of :func:`run`) about points whose keys collide."""
    folds: dict[int, dict[str, Any]] = {}
    for p in points:
        h = fold_value(p)
        if h in folds:
            warnings.warn(
                f"grid points {folds[h]} and {p} get the same random keys (a 31-bit hash "
                "collision): their trials use common random numbers",
                stacklevel=3,
            )
        folds[h] = p


def _fingerprint(fn_name: str, points: list, trials: int, key: jax.Array) -> dict[str, Any]:
    """What identifies a sweep: a folder holding another fingerprint is refused."""
    return json.loads(
        json.dumps(
            {
                "fn": fn_name,
                "grid": points,
                "trials": trials,
                "key": np.asarray(jax.random.key_data(key)).tolist(),
                "key_impl": str(jax.random.key_impl(key)),
                "x64": bool(jax.config.read("jax_enable_x64")),
            }
        )
    )


def _new_sidecar(
    fingerprint: dict[str, Any],
    points: list[dict[str, Any]],
    static: tuple[str, ...] | None,
    fn: Callable,
    user_meta: dict[str, Any],
) -> dict[str, Any]:
    """The ``sweep.json`` of a new folder (its ``runs`` still empty)."""
    return {
        "format": FORMAT,
        "fingerprint": fingerprint,
        "axes": _axes(points),
        "params": list(points[0]),
        "static": list(static) if static is not None else None,
        "fn_source_sha256": _fn_source_hash(fn),
        "meta": user_meta,
        "environment": environment(),
        "created": now(),
        "runs": [],
        "complete": False,
    }


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
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    distributed: bool | None = None,
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

    Several processes (hosts, or processes of one host) share one sweep by grid points: each
    calls ``run`` with the same arguments and the same output folder (a shared file system with
    ``flock``), computes the points ``i`` with ``i % num_processes == process_id`` on its own
    devices and writes them itself. They form one ``jax.distributed`` job (pass
    ``coordinator_address``, or ``distributed=True`` to let JAX read every setting from SLURM and
    the other clusters it knows, or start ``jax.distributed`` before calling ``run``), and then
    every process returns once all points are done; or they run without a coordinator, given
    ``num_processes`` and ``process_id``, each returning when its own share is done. The
    finished folder is the same as that of one process, and a killed process's share is resumed
    by running it again (with any number of processes).

    Args:
        key: a ``jax.random`` key: the seed of the whole sweep (or its raw data as a NumPy
            ``uint32[2]`` array, made without running JAX: see ``coordinator_address``).
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
        coordinator_address: ``"host:port"`` of process 0: start ``jax.distributed`` with it
            (must come before anything runs on a device: make ``key`` from raw key data such as
            ``np.array([0, 0], np.uint32)``, or start ``jax.distributed`` yourself).
        num_processes: the number of processes sharing the grid (with a coordinator: checked
            against it, or read by JAX from the cluster when ``None``).
        process_id: this process's number, ``0 <= process_id < num_processes``.
        distributed: ``True``: start ``jax.distributed`` with JAX's cluster detection (SLURM,
            Open MPI, Kubernetes, Cloud TPU) for the settings not given; ``False``: never use
            it; ``None``: use it when it is running or ``coordinator_address`` is given.

    Returns:
        The :class:`SweepResults` of the folder (every point).

    Raises:
        SweepMismatchError: ``out`` holds a sweep with another grid, function name, key,
            number of trials or precision (``jax_enable_x64``); the message names the folder and
            each difference.
        RuntimeError: another process is running a sweep in ``out`` (as this process
            number), or ``jax.distributed`` was asked to start after JAX had run.
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
    trials = check_int(trials, "trials", ge=1)
    points = expand_grid(grid)
    static_names = _check_static(static, points)
    fn_name = name if name is not None else _fn_name(fn)
    if not isinstance(fn_name, str):
        raise TypeError(f"name must be a str, got name={fn_name!r}")
    user_meta = json.loads(json.dumps(dict(meta or {}), allow_nan=False))
    # before anything runs on a device: jax.distributed can only start before JAX has run
    procs = processes(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
        distributed=distributed,
    )
    key = as_typed_key(key)
    _warn_shared_keys(points)
    devs = resolve_devices(devices)
    chunk = trials if chunk_size is None else min(check_int(chunk_size, "chunk_size", ge=1), trials)
    chunk = -(-chunk // len(devs)) * len(devs)

    fingerprint = _fingerprint(fn_name, points, trials, key)
    new = _new_sidecar(fingerprint, points, static_names, fn, user_meta)
    record = {
        "start": now(),
        "devices": [str(d) for d in devs],
        "chunk_size": chunk,
        "pid": os.getpid(),
        **describe(procs),
    }

    store = SweepStore(out, points, fingerprint, procs)
    with store.open():
        store.verify(new, record, fn=fn)
        store.repair()
        done = store.done()
        todo = [(i, p) for i, p in store.mine() if canonical(p) not in done]
        batched = Batched(fn, devs)
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
                stat, dyn = split_params(p, static_names)
                t0 = time.perf_counter()
                res = batched(stat, dyn, trial_keys(key, p, trials), chunk)
                store.write(i, p, res, time.perf_counter() - t0)
                computed += 1
                bar.update(1)
        finally:
            bar.close()
            store.close(computed)
    # every process calls run the same number of times, so the n-th calls meet at one barrier
    _CALLS[0] += 1
    procs.barrier(f"htrmt.sweep.run:{_CALLS[0]}:{point_hash({'fp': canonical(fingerprint)})}")
    return load(out)
