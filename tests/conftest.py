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
# Programs that compile in under 0.2 s (single eager operations, most of the ~5000 compilations
# of a run) are not worth a cache entry: writing them cost more than the rare hit saved.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.2")
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


# With ``-n 2`` the suite is distributed a file at a time (``--dist loadfile`` in pyproject):
# the tests of a file share their compiled programs in one process, which saved an eighth of the
# suite's CPU time against test-by-test distribution (both workers compiled the same programs).
# Files are handed out in the order below: the longest first (seconds on a quiet 2-core machine,
# a scheduling hint only), so that the end of the run is many short files filling both workers
# rather than one long file on one of them; the rest keep their collection order.
_LONG_FILES = (
    "test_figures.py",  # 107 s: every figure from scratch
    "test_paper_repro.py",  # 105 s: every reproduction, --quick
    "test_doctests.py",  # 87 s
    "test_ensembles.py",  # 49 s
    "test_fit_powerlaw.py",  # 49 s
    "test_edge_sampler.py",  # 48 s
    "test_hessian.py",  # 46 s
    "test_laws_tracy_widom.py",  # 39 s
    "test_phases.py",  # 31 s
    "test_laws_vocabulary.py",  # 26 s
    "test_fit_powerlaw_compare.py",  # 26 s
    "test_training_balance.py",  # 24 s
)


def _file_rank(item) -> int:
    name = item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return _LONG_FILES.index(name) if name in _LONG_FILES else len(_LONG_FILES)


# the end-to-end runs first within their files too (they take minutes)
_LONG_FIRST = ("test_figures.py::test_all_figures_quick", "test_paper_repro.py::test_quick_repro")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda it: (_file_rank(it), not any(k in it.nodeid for k in _LONG_FIRST)))
