"""λ_max samples per second at N=4000, M=2000: dense numpy eigvalsh vs the tridiagonal sampler.

Dense: numpy draws W (N×M, float64), forms ``WᵀW/N`` and runs ``numpy.linalg.eigvalsh``
(a few samples). Tridiagonal: ``htrmt.edge.largest_eigenvalues`` (β=1, float64), 10^4 samples in
one XLA call, compiled first. Same thread settings for both sides, set before any import:
OPENBLAS/OMP one thread, XLA CPU eigen single-threaded (``intra_op_parallelism_threads=1``).
Answers checked: the standardised samples of both sides against TW1 (mean within 5 standard
errors; KS p-value printed). Median of several timed runs.

Usage: ``python benchmarks/bench_edge_sampler.py [--quick] [--no-append]``; ``main()`` is also
called by ``benchmarks/bench_tracy_widom.py`` (part b).
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402

import htrmt as ht  # noqa: E402

TW1_MEAN, TW1_VAR = -1.2065335745820, 1.607781034581


def _dense_numpy(rng: np.random.Generator, num: int, N: int, M: int) -> np.ndarray:
    out = np.empty(num)
    for i in range(num):
        W = rng.standard_normal((N, M))
        out[i] = np.linalg.eigvalsh(W.T @ W / N)[-1]
    return out


def _check(z: np.ndarray, what: str) -> str:
    se = np.sqrt(TW1_VAR / z.size)
    ok = abs(z.mean() - TW1_MEAN) < 5 * se
    msg = f"{what}: mean of standardised samples {z.mean():+.4f} (TW1 {TW1_MEAN:+.4f} ± {se:.4f})"
    tw = getattr(ht.laws, "tracy_widom", None)
    if tw is not None and z.size >= 100:
        import scipy.stats as st

        p = st.kstest(z, lambda s: np.asarray(tw.cdf(s, beta=1))).pvalue
        msg += f", KS p-value vs TW1 {p:.3f}"
    if not ok:
        raise AssertionError("answer check failed: " + msg)
    return msg


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller run (no RESULTS.md entry)")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    ap.add_argument("--dense", type=int, default=3, help="dense samples")
    ap.add_argument("--num", type=int, default=10_000, help="tridiagonal samples per call")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    N, M = 4000, 2000
    dense_n = 1 if args.quick else args.dense
    num = 2000 if args.quick else args.num
    reps = 2 if args.quick else args.repeats
    print(
        f"backend={jax.default_backend()} dtype=float64 N={N} M={M} jax={jax.__version__} "
        f"numpy={np.__version__}",
        flush=True,
    )

    # dense: a few samples, timed one by one
    rng = np.random.default_rng(0)
    _dense_numpy(rng, 1, 200, 100)  # warm-up
    t = []
    dense = []
    for _ in range(dense_n):
        t0 = time.perf_counter()
        dense.append(_dense_numpy(rng, 1, N, M)[0])
        t.append(time.perf_counter() - t0)
    t_dense = statistics.median(t)
    dense = np.array(dense)
    c, s = ht.edge.tw_scaling(N, M, kind="ma")
    zd = (dense - c) / s
    print(
        f"dense numpy eigvalsh: {t_dense:.2f} s/sample (median of {dense_n}) -> "
        f"{1 / t_dense:.3f} samples/s; standardised samples {np.round(zd, 3)}",
        flush=True,
    )
    assert np.all(np.abs(zd) < 8), "dense samples outside the TW range"

    # tridiagonal: compile, check, time
    key = jax.random.key(1)
    t0 = time.perf_counter()
    lam = ht.edge.largest_eigenvalues(key, num, N, M).block_until_ready()
    t_compile = time.perf_counter() - t0
    print(_check((np.asarray(lam) - c) / s, "tridiagonal"), flush=True)
    times = []
    for r in range(reps):
        k = jax.random.fold_in(key, r + 1)
        t0 = time.perf_counter()
        ht.edge.largest_eigenvalues(k, num, N, M).block_until_ready()
        times.append(time.perf_counter() - t0)
    t_tri = statistics.median(times)
    rate = num / t_tri
    ratio = rate * t_dense
    print(
        f"tridiagonal: {num} samples in {t_tri:.3f} s (median of {reps}; first call incl. "
        f"compile {t_compile:.1f} s) -> {rate:,.0f} samples/s",
        flush=True,
    )
    print(
        f"ratio (tridiagonal / dense samples per second): {ratio:,.0f}x "
        f"(targets: >= 1e4 samples/s, >= 5000x)",
        flush=True,
    )
    res = dict(
        N=N,
        M=M,
        dense_s_per_sample=t_dense,
        dense_n=dense_n,
        tri_num=num,
        tri_s=t_tri,
        tri_rate=rate,
        ratio=ratio,
        compile_s=t_compile,
        tri_times=times,
        load=os.getloadavg(),
    )
    if not args.quick and not args.no_append:
        _append(res)
    return res


def _append(res: dict) -> None:
    path = Path(__file__).with_name("RESULTS.md")
    load = ", ".join(f"{x:.1f}" for x in res["load"])
    lines = [
        "",
        "## edge sampler (λ_max samples per second)",
        "",
        f"`python benchmarks/bench_edge_sampler.py` — {platform.machine()} CPU, 2 cores, shared; "
        f"load average at the end of the run: {load} (other work ran on the machine at the same "
        "time when it is above ~2, which inflates both sides). jax "
        f"{jax.__version__}, numpy {np.__version__}, float64. Threads: OPENBLAS/OMP/MKL=1 and "
        "XLA `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` for both sides.",
        "",
        f"N={res['N']}, M={res['M']}, β=1. Dense: numpy `eigvalsh` of WᵀW/N (W drawn by numpy), "
        f"{res['dense_n']} samples timed one by one. Tridiagonal: `htrmt.edge.largest_eigenvalues` "
        f"(Dumitriu–Edelman model, top {ht.edge._tridiagonal.default_truncation(res['M'])} rows, "
        f"Laguerre iteration), {res['tri_num']} samples per call, median of "
        f"{len(res['tri_times'])} calls after compilation ({res['compile_s']:.1f} s). Both answers "
        "checked against TW1 after Ma scaling.",
        "",
        "| method | time | samples/s |",
        "|---|---|---|",
        f"| dense numpy eigvalsh | {res['dense_s_per_sample']:.2f} s/sample | "
        f"{1 / res['dense_s_per_sample']:.3f} |",
        f"| tridiagonal (one XLA call) | {res['tri_s']:.3f} s / {res['tri_num']} | "
        f"{res['tri_rate']:,.0f} |",
        "",
        f"Ratio: **{res['ratio']:,.0f}×** (targets: ≥ 10⁴ samples/s, ≥ 5000×).",
        "",
    ]
    with path.open("a") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    main()
