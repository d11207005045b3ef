"""Tracy–Widom CDF: accuracy and speed against the ``TracyWidom`` PyPI package (part a).

Both sides evaluate F_β at the same 10^4 points in [−8, 6] for β = 1, 2, 4, in the same process,
single-threaded (OPENBLAS/OMP one thread, XLA CPU eigen single-threaded).  Accuracy is measured
against (i) the 40-digit mpmath Fredholm determinants of tests/data/tracy_widom_reference.json
and (ii) float64 Fredholm determinants (tools/make_tracy_widom_tables.py, 96 Gauss–Legendre
nodes, itself checked against (i)) at a subset of the 10^4 points.  Timing: median of repeated
calls after warm-up; ours is jitted, float64, with ``block_until_ready``.

Part (b), λ_max samples per second, lives in benchmarks/bench_edge_sampler.py; when that module
exists its ``main()`` runs at the end, so one run covers both parts.

Usage: ``python benchmarks/bench_tracy_widom.py [--quick] [--no-append]``.
"""

from __future__ import annotations

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from _timing import median_time  # noqa: E402

from htrmt.laws import tracy_widom as tw  # noqa: E402


def part_a(quick: bool = False) -> tuple[list[dict], str]:
    try:
        import importlib.metadata as md

        from TracyWidom import TracyWidom

        peer_version = md.version("tracywidom")
    except ImportError:  # pragma: no cover
        print("TracyWidom (pip install tracywidom) is not installed: part (a) skipped")
        return [], ""
    from make_tracy_widom_tables import log_cdf_sf

    ref = json.loads((ROOT / "tests/data/tracy_widom_reference.json").read_text())
    n = 10_000
    x = np.linspace(-8.0, 6.0, n)
    xj = jnp.asarray(x)
    sub = x[:: (50 if quick else 10)]  # determinant check points
    repeats = 5 if quick else 21
    rows = []
    for beta in (1, 2, 4):
        peer = TracyWidom(beta=beta)
        ours = jax.jit(lambda s, b=beta: tw.cdf(s, beta=b))
        ours(xj).block_until_ready()
        peer.cdf(x)
        # (i) mpmath reference points inside [-8, 6]
        pts = [r for r in ref["values"] if r["beta"] == beta and -8 <= r["s"] <= 6]
        ps = np.array([r["s"] for r in pts])
        pF = np.array([float(r["cdf"]) for r in pts])
        e_ours_mp = float(np.max(np.abs(np.asarray(tw.cdf(jnp.asarray(ps), beta=beta)) - pF)))
        e_peer_mp = float(np.max(np.abs(peer.cdf(ps) - pF)))
        # (ii) float64 determinants at a subset of the benchmark points
        dF = np.exp([log_cdf_sf(float(s), beta)[0] for s in sub])
        e_ours_det = float(np.max(np.abs(np.asarray(tw.cdf(jnp.asarray(sub), beta=beta)) - dF)))
        e_peer_det = float(np.max(np.abs(peer.cdf(sub) - dF)))
        t_ours = median_time(lambda f=ours: f(xj).block_until_ready(), repeats)
        t_peer = median_time(lambda g=peer: g.cdf(x), repeats)
        e_ours = max(e_ours_mp, e_ours_det)
        e_peer = max(e_peer_mp, e_peer_det)
        row = dict(
            beta=beta,
            n=n,
            err_ours=e_ours,
            err_peer=e_peer,
            err_ratio=e_peer / e_ours,
            err_ours_mp=e_ours_mp,
            err_peer_mp=e_peer_mp,
            n_mp=len(pts),
            n_det=len(sub),
            t_ours=t_ours,
            t_peer=t_peer,
            speedup=t_peer / t_ours,
        )
        rows.append(row)
        print(
            f"beta={beta}: max|err| ours {e_ours:.2e}  TracyWidom {e_peer:.2e}  "
            f"(ratio {e_peer / e_ours:.1e}); time ours {t_ours * 1e3:.3f} ms  "
            f"TracyWidom {t_peer * 1e3:.3f} ms  (ours {t_peer / t_ours:.1f}x faster)",
            flush=True,
        )
    return rows, peer_version


def _append_results(rows: list[dict], peer_version: str) -> None:
    lines = [
        "",
        "## tracy_widom (part a: TW CDF vs the TracyWidom package)",
        "",
        f"Machine: {platform.machine()} CPU, 2 cores shared with other work running at the same "
        f"time; {jax.default_backend()} backend; Python {platform.python_version()}, jax "
        f"{jax.__version__}, numpy {np.__version__}, TracyWidom {peer_version}. Thread settings "
        "(both sides): OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1, XLA_FLAGS=--xla_cpu_multi_thread_"
        "eigen=false intra_op_parallelism_threads=1. float64.",
        "",
        "10^4 points on [-8, 6]; error = max |F - F_ref| over the 40-digit mpmath reference points "
        "in [-8, 6] and over 1000 of the points against float64 Fredholm determinants; time = "
        "median wall time of one call on the 10^4 points (ours jitted, after warm-up).",
        "",
        "| beta | max err htrmt | max err TracyWidom | error ratio | htrmt ms | TracyWidom ms "
        "| speed ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['beta']} | {r['err_ours']:.1e} | {r['err_peer']:.1e} | {r['err_ratio']:.1e} | "
            f"{r['t_ours'] * 1e3:.3f} | {r['t_peer'] * 1e3:.3f} | {r['speedup']:.1f}x |"
        )
    lines.append("")
    lines.append("Targets: error ratio >= 1e6 and speed ratio >= 1 (no slower).")
    lines.append("")
    with open(ROOT / "benchmarks/RESULTS.md", "a") as fh:
        fh.write("\n".join(lines))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description="Tracy-Widom CDF vs TracyWidom; then part (b)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-append", action="store_true", help="do not append to RESULTS.md")
    args = ap.parse_args(argv)
    print(f"backend={jax.default_backend()} dtype=float64 jax={jax.__version__}")
    rows, ver = part_a(args.quick)
    if rows and not args.no_append and not args.quick:
        _append_results(rows, ver)
    edge = Path(__file__).with_name("bench_edge_sampler.py")
    if edge.exists():
        spec = importlib.util.spec_from_file_location("bench_edge_sampler", edge)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        print("\n--- part (b): benchmarks/bench_edge_sampler.py ---", flush=True)
        sub = [f for f, on in (("--quick", args.quick), ("--no-append", args.no_append)) if on]
        mod.main(sub) if _accepts_argv(mod.main) else mod.main()


def _accepts_argv(fn) -> bool:
    import inspect

    try:
        return len(inspect.signature(fn).parameters) > 0
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":
    main()
