"""Benchmarks: the cavity (population dynamics) Lévy density, and Lanczos vs dense eigvalsh.

1. Time for a heavy-tailed Wishart density (µ = 1.5, Q = 2, N = 1000) on 200 grid points with the
default
   settings, its stated accuracy (the reported error estimate) and a check against a sampled ESD
   (KS).
2. Top-5 eigenvalues of one 4000×4000 Wigner matrix: htrmt.hessian.top_eigenvalues (matrix-free
Lanczos
   with full reorthogonalisation on a dense matvec) vs numpy.linalg.eigvalsh (LAPACK syevd) and
   scipy.sparse.linalg.eigsh (ARPACK) on the same matrix in the same process; the ratio is printed.

Thread settings (both sides): OPENBLAS/OMP/MKL = 1 thread, XLA CPU single-threaded.
Usage: python benchmarks/bench_levy_hessian.py [--quick]
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

import htrmt as ht  # noqa: E402


def _timed(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out) if isinstance(out, jax.Array) else None
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def bench_levy(quick):
    mu, Q, N = 1.5, 2.0, 1000
    npts = 200
    key = jax.random.key(0)
    lam = np.concatenate(
        [
            np.asarray(ht.esd(ht.ensembles.pareto(k, (N, N // 2), mu=mu)))
            for k in jax.random.split(key, 4)
        ]
    )
    grid = np.geomspace(np.quantile(lam, 0.002), np.quantile(lam, 0.998), npts)
    ht.laws.levy.density(grid[:32], mu, Q, N=N)  # compile (one chunk shape for any grid)
    t, d = _timed(lambda: ht.laws.levy.density(grid, mu, Q, N=N), 1 if quick else 2)
    rel = d.error / np.maximum(d.pdf, 1e-300)
    F = np.concatenate([[0], np.cumsum(np.diff(grid) * (d.pdf[1:] + d.pdf[:-1]) / 2)])
    ls = np.sort(lam)
    below = np.searchsorted(ls, grid[0]) / ls.size
    inw = ls[(ls >= grid[0]) & (ls <= grid[-1])]
    i = np.arange(1, inw.size + 1)
    Fc = below + np.interp(inw, grid, F)
    ks = max(
        np.max(np.abs(below + i / ls.size - Fc)), np.max(np.abs(below + (i - 1) / ls.size - Fc))
    )
    print(
        f"[levy] Wishart µ={mu} Q={Q} N={N}, {npts} points, population 1000 × 4 runs, top 16, "
        f"sweeps (30, 40), eta 0.02 (η, 2η → 0)"
    )
    print(
        f"[levy] time {t:.1f} s; relative error estimate: median {np.median(rel):.2%}, "
        f"90th pct {np.quantile(rel, 0.9):.2%}, max {rel.max():.2%}; "
        f"KS vs {lam.size} sampled eigenvalues {ks:.4f} "
        f"(1% critical {1.63 / math.sqrt(lam.size):.4f})"
    )
    return t, float(np.median(rel)), float(np.quantile(rel, 0.9)), ks


def bench_lanczos(quick):
    N, k = (2000, 5) if quick else (4000, 5)
    A = ht.ensembles.wigner(jax.random.key(1), (N, N))
    A_np = np.asarray(A)
    steps = 300
    key = jax.random.key(2)
    ht.hessian.top_eigenvalues(key, A, k, num_steps=steps, tol=1e-10)  # compile
    t_lz, top = _timed(lambda: ht.hessian.top_eigenvalues(key, A, k, num_steps=steps, tol=1e-10), 3)
    t_eig, ev = _timed(lambda: np.linalg.eigvalsh(A_np), 1 if quick else 2)
    ref = ev[::-1][:k]
    err = float(np.max(np.abs(np.asarray(top.eigenvalues) - ref)))
    v0 = np.ones(N) / math.sqrt(N)
    t_arp, ev_arp = _timed(
        lambda: spla.eigsh(A_np, k=k, which="LA", v0=v0, tol=1e-10, return_eigenvectors=False), 3
    )
    err_arp = float(np.max(np.abs(np.sort(ev_arp)[::-1] - ref)))
    print(
        f"[lanczos] {N}×{N} Wigner, top {k}: htrmt Lanczos ({steps} steps, full reorth) "
        f"{t_lz:.3f} s (max |err| {err:.1e}); numpy eigvalsh {t_eig:.2f} s; "
        f"ARPACK eigsh {t_arp:.3f} s (max |err| {err_arp:.1e})"
    )
    print(
        f"[lanczos] ratio eigvalsh/Lanczos = {t_eig / t_lz:.1f}×, "
        f"ARPACK/Lanczos = {t_arp / t_lz:.2f}×"
    )
    return N, t_lz, err, t_eig, t_arp, err_arp


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    print(
        f"backend {jax.default_backend()}, float64, jax {jax.__version__}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}, {platform.machine()} {os.cpu_count()} cores"
    )
    bench_lanczos(args.quick)
    bench_levy(args.quick)


if __name__ == "__main__":
    main()
