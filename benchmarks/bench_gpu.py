"""The accelerator paths: batched ESDs and the edge sampler on a GPU, against host LAPACK.

Each GPU timing is the median of several runs after a warm-up that compiles, with
``block_until_ready``; the baseline is NumPy (Gram matrix + LAPACK ``eigvalsh``) on the same
matrices on the host CPU, with all its cores (``OPENBLAS_NUM_THREADS`` unset) and once with one
thread. Every GPU result is checked against the host's before it is timed.

Usage:
    python benchmarks/bench_gpu.py [--quick] [--json out.json]

On a machine without an accelerator it runs on the CPU backend (a dry run of the script).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from _timing import median_time  # noqa: E402

import htrmt as ht  # noqa: E402


def _numpy_esd(W: np.ndarray) -> np.ndarray:
    n = W.shape[-2]
    return np.linalg.eigvalsh(np.swapaxes(W, -1, -2) @ W / n)


def _one_thread(fn, repeats: int) -> float:
    """``median_time(fn)`` with the host BLAS on one thread (threadpoolctl; NaN without it)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return float("nan")
    with threadpool_limits(limits=1):
        return median_time(fn, repeats)


def bench_esd(quick: bool, repeats: int) -> list[dict]:
    cases = [(1024, 400, 200), (64, 2000, 1000), (1, 8000, 4000)]
    if quick:
        cases = [(64, 100, 50), (4, 400, 200), (1, 800, 400)]
    out = []
    esd = jax.jit(lambda W: ht.esd(W))
    for dt in (jnp.float32, jnp.float64):
        for B, N, M in cases:
            W = ht.ensembles.gaussian(jax.random.key(B + N), (B, N, M), dtype=dt)
            W.block_until_ready()
            lam = np.asarray(esd(W))
            Wn = np.asarray(W)
            ref = _numpy_esd(Wn)
            err = float(np.max(np.abs(lam - ref)) / np.max(ref))
            tol = 1e-4 if dt == jnp.float32 else 1e-11
            assert err < tol, f"GPU ESD differs from LAPACK: {err:.2e}"
            t_dev = median_time(lambda W=W: esd(W), repeats, warm=True)
            # the host baselines: one run each (LAPACK has nothing to compile); the one-thread
            # run only where it takes seconds, not minutes
            t_np = median_time(lambda Wn=Wn: _numpy_esd(Wn), 1)
            small = B * M**3 <= 1e10
            t_np1 = _one_thread(lambda Wn=Wn: _numpy_esd(Wn), 1) if small else float("nan")
            row = dict(
                dtype=np.dtype(dt).name,
                batch=B,
                N=N,
                M=M,
                t_device=t_dev,
                t_numpy_all_cores=t_np,
                t_numpy_1_thread=t_np1,
                speedup_all_cores=t_np / t_dev,
                speedup_1_thread=t_np1 / t_dev,
                max_rel_err=err,
            )
            print(
                f"esd {row['dtype']} {B}x{N}x{M}: device {t_dev * 1e3:.1f} ms, numpy all cores "
                f"{t_np * 1e3:.1f} ms ({t_np / t_dev:.1f}x), numpy 1 thread "
                f"{t_np1 * 1e3:.1f} ms ({t_np1 / t_dev:.1f}x); max rel. diff {err:.1e}",
                flush=True,
            )
            out.append(row)
    return out


def bench_edge(quick: bool, repeats: int) -> dict:
    N, M = 4000, 2000
    num = 2000 if quick else 100_000
    key = jax.random.key(1)
    lam = ht.edge.largest_eigenvalues(key, num, N, M).block_until_ready()
    c, s = ht.edge.tw_scaling(N, M, kind="ma")
    z = (np.asarray(lam) - c) / s
    from scipy import stats

    p = stats.kstest(z, lambda t: np.asarray(ht.laws.tracy_widom.cdf(t, beta=1))).pvalue
    t = median_time(lambda: ht.edge.largest_eigenvalues(key, num, N, M), repeats, warm=True)
    print(
        f"edge sampler N={N} M={M}: {num} samples in {t:.3f} s -> {num / t:,.0f} samples/s; "
        f"KS p-value vs TW1 {p:.3f}",
        flush=True,
    )
    return dict(N=N, M=M, num=num, seconds=t, samples_per_s=num / t, ks_pvalue=float(p))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    dev = jax.devices()[0]
    info = dict(
        backend=jax.default_backend(),
        device=getattr(dev, "device_kind", str(dev)),
        jax=jax.__version__,
        numpy=np.__version__,
        cpu_count=os.cpu_count(),
        machine=platform.platform(),
    )
    print(info, flush=True)
    res: dict = dict(info=info)
    res["esd"] = bench_esd(args.quick, args.repeats)
    res["edge"] = bench_edge(args.quick, args.repeats)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
