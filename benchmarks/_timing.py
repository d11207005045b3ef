"""Timing helper shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], repeats: int, *, warm: bool = False) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs (JAX results waited for).

    ``warm=True`` runs ``fn`` once first, untimed (compilation, caches).
    """
    import jax

    if warm:
        jax.block_until_ready(fn())
    ts = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
