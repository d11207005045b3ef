"""Grid × trials sweeps: vmapped trials, sharded over devices, resumable append-only output.

A sweep runs one pure trial function ``fn(key, **params) -> pytree of arrays`` for ``trials``
independent keys at every point of a parameter grid. At each point the trials are one
``jax.vmap`` (optionally in chunks, to bound memory), the batch sharded over every available
device (a 1-D ``jax.sharding.Mesh``); each point's results are written atomically to the output
folder as soon as it completes. Run the same call again after an interruption (Ctrl-C, a crash,
SIGKILL, a pre-empted job) and it computes only the missing points, with the same keys: the
finished folder is the same as that of an uninterrupted run. The same code scales from a laptop
to a multi-GPU machine, and to several processes or hosts sharing the grid points of one
sweep (``jax.distributed``, e.g. under SLURM, or independent processes given ``num_processes``
and ``process_id``), all writing into one folder.

Example:
    >>> import jax, htrmt as ht
    >>> def trial(key, *, mu, M):
    ...     lam = ht.esd(ht.ensembles.pareto(key, (2 * M, M), mu=mu))
    ...     return {"lam_max": lam[-1], "lam_mean": lam.mean()}
    >>> res = ht.sweep.run(
    ...     jax.random.key(0), trial, {"mu": [2.5, 3.5], "M": [50, 100]},
    ...     trials=32, out="out/demo", chunk_size=16,
    ... )                                                       # doctest: +SKIP
    >>> res.stack("lam_max").shape        # (points, trials)    # doctest: +SKIP
    (4, 32)
    >>> df = ht.sweep.load("out/demo").to_pandas()              # doctest: +SKIP
    >>> df.groupby(["mu", "M"]).lam_max.median()                # doctest: +SKIP

``mu`` (a float) is traced, so one compilation serves every µ; ``M`` (an int) is static, so
each size compiles once. Pass ``static=(...)`` to choose explicitly.

Output folder::

    sweep.json       metadata sidecar: fingerprint (fn name, grid, trials, key, x64), axes,
                     user meta, environment (versions, devices, git commit), one record per run
    index.jsonl      append-only log: one line per completed point
    index-p<k>.jsonl the same log of process k > 0 when several processes share the sweep
    points/<h>.npz   one file per point: each output leaf stacked over trials

A folder holding a different sweep (grid, function name, key, trials or x64) is refused with a
:class:`SweepMismatchError` naming the folder and each difference.
"""

import warnings as _warnings
from typing import Any as _Any

from ._grid import expand_grid as expand_grid
from ._grid import point_hash as point_hash
from ._grid import point_key as point_key
from ._grid import trial_keys as trial_keys
from ._meta import environment as environment
from ._runner import SweepStore as SweepStore
from ._runner import run as run
from ._store import SweepMismatchError as SweepMismatchError
from ._store import SweepResults as SweepResults
from ._store import load as load

__all__ = [
    "run",
    "load",
    "SweepResults",
    "SweepMismatchError",
    "SweepStore",
    "expand_grid",
    "point_hash",
    "point_key",
    "trial_keys",
    "environment",
]

# Formerly public, kept for one release: the sweep's own atomic writes (the script folders
# write through their own outputs module).
_DEPRECATED = {"atomic_write_bytes", "atomic_write_json"}


def __getattr__(name: str) -> _Any:
    if name in _DEPRECATED:
        _warnings.warn(
            f"htrmt.sweep.{name} is deprecated and will be removed in the next release; it is "
            "the sweep's private helper: write files atomically with your own code (os.replace "
            "of an fsynced temp file in the same folder)",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import _meta

        return getattr(_meta, name)
    raise AttributeError(f"module 'htrmt.sweep' has no attribute {name!r}")
