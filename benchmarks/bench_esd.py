"""htrmt.esd against raw numpy (Gram matrix + LAPACK eigvalsh) on the same matrices.

Both sides run single-threaded (OpenBLAS and XLA pinned to one thread, set below before any
import), in one process, on the same data; each timing is the median of several runs after a
warm-up (which also compiles the JAX side). Prints the ratio time(htrmt)/time(numpy): <= 1.2 is
the target for single matrices; for the batch, throughput at least numpy's (ratio <= 1).

Usage: python benchmarks/bench_esd.py [--repeats 5] [--dtype float64|float32]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import argparse  # noqa: E402
import platform  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
from _timing import median_time  # noqa: E402

import htrmt as ht  # noqa: E402


def numpy_esd(W):
    n = W.shape[-2]
    G = np.swapaxes(W, -1, -2) @ W / n
    return np.linalg.eigvalsh(G)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    args = p.parse_args(argv)
    dt = np.dtype(args.dtype)
    print(
        f"backend={jax.default_backend()} device={jax.devices()[0]} dtype={dt} "
        f"jax={jax.__version__} numpy={np.__version__} machine={platform.machine()} "
        f"cpus={os.cpu_count()} OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}"
    )
    rng = np.random.default_rng(0)
    cases = [((1000, 500), None), ((2000, 1000), None), ((4000, 2000), None), ((400, 200), 256)]
    rows = []
    for (n, m), batch in cases:
        shape = (n, m) if batch is None else (batch, n, m)
        W = rng.standard_normal(shape).astype(dt)
        Wj = jax.device_put(W)
        ref = numpy_esd(W)
        got = np.asarray(ht.esd(Wj))
        err = np.max(np.abs(got - ref)) / np.max(np.abs(ref))
        tol = 1e-10 if dt == np.float64 else 1e-4
        assert err < tol, f"mismatch {err}"
        reps = args.repeats if n * m * (batch or 1) < 2e7 else max(3, args.repeats // 2)
        t_np = median_time(lambda: numpy_esd(W), reps, warm=True)
        t_ht = median_time(lambda: jax.block_until_ready(ht.esd(Wj)), reps, warm=True)
        jitted = jax.jit(lambda w: ht.esd(w))
        t_jit = median_time(lambda: jax.block_until_ready(jitted(Wj)), reps, warm=True)
        jitted_lapack = jax.jit(lambda w: ht.esd(w, method="lapack"))
        t_jit_lapack = median_time(
            lambda: jax.block_until_ready(jitted_lapack(Wj)), reps, warm=True
        )
        t_xla = median_time(
            lambda: jax.block_until_ready(ht.esd(Wj, method="xla")), reps, warm=True
        )
        label = f"{n}x{m}" if batch is None else f"{batch} x ({n}x{m})"
        rows.append((label, t_np, t_ht, t_ht / t_np, err))
        print(
            f"{label:>18}: numpy {t_np * 1e3:9.2f} ms   htrmt {t_ht * 1e3:9.2f} ms   "
            f"ratio htrmt/numpy {t_ht / t_np:5.2f}   (under jit {t_jit / t_np:5.2f}, "
            f"jit with method='lapack' {t_jit_lapack / t_np:5.2f}, "
            f"method='xla' {t_xla / t_np:5.2f})   max rel diff {err:.1e}",
            flush=True,
        )
    return rows


if __name__ == "__main__":
    main()
