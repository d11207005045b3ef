"""Grid × trials sweeps: vmapped trials, sharded over devices, resumable append-only output.

A sweep runs one pure trial function ``fn(key, **params) -> pytree of arrays`` for ``trials``
independent keys at every point of a parameter grid. At each point the trials are one
``jax.vmap`` (optionally in chunks, to bound memory), the batch sharded over every available
device (a 1-D ``jax.sharding.Mesh``); each point's results are written atomically to the output
folder as soon as it completes. Run the same call again after an interruption (Ctrl-C, a crash,
SIGKILL, a pre-empted job) and it computes only the missing points, with the same keys: the
finished folder is the same as that of an uninterrupted run. The same code scales from a laptop
to a multi-GPU machine (and to multi-host JAX, where every process makes the same call).

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
    points/<h>.npz   one file per point: each output leaf stacked over trials

A folder holding a different sweep (grid, function name, key, trials or x64) is refused with a
:class:`SweepMismatchError` naming the folder and each difference.
"""

from ._grid import expand_grid as expand_grid
from ._grid import point_hash as point_hash
from ._grid import point_key as point_key
from ._grid import trial_keys as trial_keys
from ._meta import atomic_write_bytes as atomic_write_bytes
from ._meta import atomic_write_json as atomic_write_json
from ._meta import environment as environment
from ._runner import run as run
from ._store import SweepMismatchError as SweepMismatchError
from ._store import SweepResults as SweepResults
from ._store import load as load

__all__ = [
    "run",
    "load",
    "SweepResults",
    "SweepMismatchError",
    "expand_grid",
    "point_hash",
    "point_key",
    "trial_keys",
    "environment",
    "atomic_write_bytes",
    "atomic_write_json",
]
