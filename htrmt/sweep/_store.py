"""The on-disk result store of a sweep: one folder, append-only, atomic, resumable.

Layout of an output folder::

    sweep.json        metadata sidecar: what was run (fingerprint), where and with what
    index.jsonl       append-only log, one JSON line per completed grid point
    index-p<k>.jsonl  the same log of process k > 0 of a sweep over several processes
    points/<h>.npz    the results of one grid point (<h>: 16 hex digits of the point's hash)
    .lock             advisory lock held while a run writes (released by the OS on any exit);
                      ``.lock-p<k>`` that of process k > 0
    .sidecar.lock     lock held while a process reads, changes and rewrites ``sweep.json``

A point is complete iff its ``.npz`` exists: it is written to a hidden temp file, fsynced
and renamed into place (``os.replace``), so a reader never sees a partial file. The index line
is appended after the rename; a run killed between the two is repaired on the next start.

Several processes can write one folder at once: each computes and writes its own points and
appends to its own index file (so a killed process's partial line never mixes with another's),
:func:`read_index` merges the index files, and ``sweep.json`` is only changed under
``.sidecar.lock``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._grid import canonical, expand_grid, point_hash

__all__ = ["SweepResults", "SweepMismatchError", "load", "FORMAT"]

FORMAT = "htrmt.sweep/1"
META_NAME = "sweep.json"
INDEX_NAME = "index.jsonl"
POINTS_DIR = "points"
LOCK_NAME = ".lock"
SIDECAR_LOCK_NAME = ".sidecar.lock"
_SHARD = re.compile(r"index-p([1-9][0-9]*)\.jsonl")


def index_name(process: int = 0) -> str:
    """The index file a process appends to: ``index.jsonl`` for process 0."""
    return INDEX_NAME if process == 0 else f"index-p{process}.jsonl"


def lock_name(process: int = 0) -> str:
    """The lock file a process holds while it runs: ``.lock`` for process 0."""
    return LOCK_NAME if process == 0 else f"{LOCK_NAME}-p{process}"


def is_store_file(name: str) -> bool:
    """Whether ``name`` in an output folder is one of the store's own files (or a temp file)."""
    return (
        name in (META_NAME, INDEX_NAME, POINTS_DIR, SIDECAR_LOCK_NAME)
        or name.startswith(LOCK_NAME + "-p")
        or name == LOCK_NAME
        or name.startswith(".tmp-")
        or _SHARD.fullmatch(name) is not None
    )


def index_files(out: Path) -> list[Path]:
    """The index files of a folder: ``index.jsonl`` first, then those of processes 1, 2, ..."""
    shards = []
    if out.is_dir():
        for f in out.iterdir():
            m = _SHARD.fullmatch(f.name)
            if m:
                shards.append((int(m.group(1)), f))
    return [out / INDEX_NAME] + [f for _, f in sorted(shards)]


class SweepMismatchError(ValueError):
    """An output folder holds a different sweep (other grid, fn, key, trials, x64)."""


def point_file(point: Mapping[str, Any]) -> str:
    return f"{point_hash(point)[:16]}.npz"


def read_meta(out: Path) -> dict[str, Any] | None:
    p = out / META_NAME
    if not p.exists():
        return None
    with open(p) as f:
        return json.load(f)


def read_index(out: Path) -> list[dict[str, Any]]:
    """The complete lines of every index file of ``out`` (a killed write's partial line skipped).

    The lines of ``index.jsonl`` come first, then those of ``index-p1.jsonl``, ...
    """
    rows = []
    for p in index_files(out):
        if not p.exists():
            continue
        with open(p, "rb") as f:
            data = f.read()
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def repair_index(out: Path, process: int = 0) -> None:
    """Drop a partial last line left by a killed append (the only non-append edit of the index).

    Only the index file of ``process`` is repaired: the others may be appended to right now.
    """
    p = out / index_name(process)
    if not p.exists():
        return
    with open(p, "rb+") as f:
        data = f.read()
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            f.seek(cut)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())


def append_index(out: Path, row: Mapping[str, Any], process: int = 0) -> None:
    """Append one line to the index file of ``process`` and fsync it."""
    line = (json.dumps(row, separators=(",", ":"), allow_nan=False) + "\n").encode()
    with open(out / index_name(process), "ab") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def leaf_name(path: tuple) -> str:
    parts = []
    for k in path:
        for attr in ("key", "name", "idx"):
            if hasattr(k, attr):
                parts.append(str(getattr(k, attr)))
                break
        else:  # pragma: no cover - unknown key kinds
            parts.append(str(k))
    return ".".join(parts) if parts else "value"


def read_point(out: Path, point: Mapping[str, Any]) -> dict[str, np.ndarray]:
    with np.load(out / POINTS_DIR / point_file(point), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@dataclasses.dataclass(frozen=True)
class SweepResults:
    """The completed points of a sweep, read back from its output folder.

    Attributes:
        out: the output folder.
        meta: the metadata sidecar (``sweep.json``) as a dict.
        points: the completed grid points, in grid order (dicts of parameters).
        data: for each completed point, ``{leaf name: array of shape (trials, ...)}``. Leaf names
            are the paths of the trial function's output pytree joined by dots (``"alpha"``,
            ``"fit.xmin"``, ``"0"``; a bare array is ``"value"``).
        missing: grid points not computed yet.
    """

    out: Path
    meta: dict[str, Any]
    points: list[dict[str, Any]]
    data: list[dict[str, np.ndarray]]
    missing: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.points)

    @property
    def complete(self) -> bool:
        """True when every grid point has been computed."""
        return not self.missing

    @property
    def names(self) -> list[str]:
        """The output leaf names (those of the first completed point)."""
        return list(self.data[0]) if self.data else []

    @property
    def trials(self) -> int:
        return int(self.meta["fingerprint"]["trials"])

    def params(self, name: str) -> np.ndarray:
        """The values of parameter ``name`` over the completed points, shape ``(points,)``."""
        return np.asarray([p[name] for p in self.points])

    def stack(self, name: str) -> np.ndarray:
        """Output ``name`` of every completed point stacked: shape ``(points, trials, ...)``.

        Raises:
            KeyError: no output of that name.
            ValueError: its shape differs between points (e.g. it depends on a static size):
                use ``results.data[i][name]`` instead.
        """
        if self.data and name not in self.data[0]:
            raise KeyError(f"no output named {name!r}; the outputs are {self.names}")
        arrs = [d[name] for d in self.data]
        shapes = {a.shape for a in arrs}
        if len(shapes) > 1:
            raise ValueError(
                f"output {name!r} has different shapes across points ({sorted(shapes)}); "
                "read results.data[i][name] point by point"
            )
        return np.stack(arrs) if arrs else np.empty((0, self.trials))

    def table(self) -> dict[str, np.ndarray]:
        """A long table as a dict of columns: one row per (point, trial).

        Columns: the grid parameters, ``trial``, and every output whose per-trial value is a
        scalar (non-scalar outputs are left out; read them with :meth:`stack`).
        """
        cols: dict[str, list] = {}
        pnames = list(self.points[0]) if self.points else []
        scalar_names = [n for n in self.names if self.data[0][n].ndim == 1]
        for name in pnames + ["trial"] + scalar_names:
            cols[name] = []
        for p, d in zip(self.points, self.data, strict=True):
            t = d[scalar_names[0]].shape[0] if scalar_names else self.trials
            for name in pnames:
                cols[name].extend([p[name]] * t)
            cols["trial"].extend(range(t))
            for name in scalar_names:
                cols[name].extend(d[name].tolist())
        return {k: np.asarray(v) for k, v in cols.items()}

    def to_pandas(self):
        """The :meth:`table` as a ``pandas.DataFrame`` (needs pandas)."""
        try:
            import pandas as pd
        except ImportError as err:  # pragma: no cover
            raise ImportError("to_pandas() needs pandas: pip install pandas") from err
        return pd.DataFrame(self.table())


def load(out: str | os.PathLike) -> SweepResults:
    """Read the results of a sweep (complete or not) from its output folder.

    Args:
        out: the output folder given to :func:`htrmt.sweep.run`.

    Returns:
        A :class:`SweepResults`.

    Raises:
        FileNotFoundError: the folder or its ``sweep.json`` does not exist.
        ValueError: the folder is not an htrmt sweep folder.

    Example:
        >>> res = load("out/my_sweep")                     # doctest: +SKIP
        >>> res.stack("alpha").mean(axis=1)   # one mean per grid point  # doctest: +SKIP
        >>> res.to_pandas().groupby("mu").alpha.std()      # doctest: +SKIP
    """
    out = Path(out)
    if not out.is_dir():
        raise FileNotFoundError(f"sweep output folder {str(out)!r} does not exist")
    meta = read_meta(out)
    if meta is None:
        raise FileNotFoundError(f"{str(out)!r} has no {META_NAME}: not an htrmt sweep folder")
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{str(out / META_NAME)!r} has format {meta.get('format')!r}, expected {FORMAT!r}"
        )
    grid = expand_grid(meta["fingerprint"]["grid"])
    points, data, missing = [], [], []
    pdir = out / POINTS_DIR
    for p in grid:
        if (pdir / point_file(p)).exists():
            points.append(p)
            data.append(read_point(out, p))
        else:
            missing.append(p)
    return SweepResults(out=out, meta=meta, points=points, data=data, missing=missing)


def fingerprint_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints (empty when they agree)."""
    diffs = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if k == "grid":
            ca = [canonical(p) for p in expand_grid(a)] if a else []
            cb = [canonical(p) for p in expand_grid(b)] if b else []
            if ca != cb:
                only_a = [c for c in ca if c not in set(cb)]
                only_b = [c for c in cb if c not in set(ca)]
                if not only_a and not only_b:
                    diffs.append("grid: same points in a different order")
                else:
                    diffs.append(
                        f"grid: {len(ca)} points in the folder vs {len(cb)} requested; "
                        f"only in the folder: {only_a[:3]}{'...' if len(only_a) > 3 else ''}; "
                        f"only requested: {only_b[:3]}{'...' if len(only_b) > 3 else ''}"
                    )
        elif a != b:
            diffs.append(f"{k}: {a!r} in the folder vs {b!r} requested")
    return diffs
