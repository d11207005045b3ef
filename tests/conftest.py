"""Test configuration: float64 available, strict dtype promotion, fixed keys.

The library never flips ``jax_enable_x64``; the tests turn it on so that both float32 and
float64 paths can be exercised (float32 is then requested explicitly with ``dtype=``).
"""

import os
import sys
from pathlib import Path

# The script folders (sims/, figures/, paper_repro/) are not installed: they are importable from
# the repository root, as when run with ``python -m figures`` there.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
# One BLAS thread per process: the two xdist workers (and their subprocesses) share two cores,
# and OpenBLAS's default of a thread per core made NumPy/SciPy linear algebra a third slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)
os.environ.setdefault("MPLBACKEND", "Agg")
# One persistent XLA compilation cache for the session: the two xdist workers and the
# subprocesses (figures, reproductions, CLI runs) compile many of the same programs, and each is
# then compiled once. Entries are keyed by the program and the JAX/XLA version, so a stale entry
# is never used; a second run of the suite starts warm.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(_ROOT, ".pytest_cache", "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")


@pytest.fixture
def key():
    return jax.random.key(20261125)


@pytest.fixture
def getkey():
    """A function returning a fresh, deterministic key on each call."""
    state = {"k": jax.random.key(12345)}

    def _next():
        state["k"], sub = jax.random.split(state["k"])
        return sub

    return _next


# The end-to-end runs (every figure, the reproductions, the tour) take minutes each: scheduled
# first, so that with ``-n 2`` the rest of the suite fills the other worker meanwhile instead of
# one long test starting last.
_LONG_FIRST = ("test_figures.py::test_all_figures_quick", "test_paper_repro.py::test_quick_repro")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda it: not any(k in it.nodeid for k in _LONG_FIRST))
