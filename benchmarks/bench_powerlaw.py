"""Power-law tail fit: htrmt.fit.powerlaw against the `powerlaw` package and `powerlawrs`.

One run, the same data for every fitter: n points, 30% uniform body on [0.2, 1) and 70% Pareto
tail (α = 2.5, xmin = 1), n ∈ {1e3, 1e4, 3e4, 1e5}. htrmt is compiled first (compile time
printed separately), then timed as the median of several runs; the peers run in the same process
on the same array. A peer is skipped at a size where its O(n²) scaling from the previous size
predicts more than a minute. Agreement: xmin and α of htrmt with ``ks="powerlaw",
alpha_max=3`` (the package's convention) against ``powerlaw.Fit(x)``.

Thread settings (both sides): OPENBLAS/OMP threads = 1, XLA single-threaded CPU.

Usage: python benchmarks/bench_powerlaw.py [--sizes 1000,10000] [--x64/--no-x64]
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

LIMIT_S = 60.0


def data(n, seed=0, kind="body"):
    rng = np.random.default_rng(seed)
    if kind == "pareto":  # pure Pareto (α = 2.5): every xmin fits about equally well
        return (1 - rng.random(n)) ** (-1 / 1.5)
    nb = int(0.3 * n)
    body = rng.uniform(0.2, 1.0, nb)
    tail = (1 - rng.random(n - nb)) ** (-1 / 1.5)
    return rng.permutation(np.concatenate([body, tail]))


def timed(f, reps):
    ts, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,30000,100000")
    ap.add_argument("--no-x64", action="store_true", help="float32 instead of float64")
    ap.add_argument(
        "--data",
        choices=("body", "pareto"),
        default="body",
        help="30%% uniform body + 70%% Pareto tail (default), or pure Pareto (the hard case for "
        "the xmin search)",
    )
    ap.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="also time htrmt (two_sided) on this many data sets per size and report the slowest",
    )
    args = ap.parse_args(argv)
    if not args.no_x64:
        jax.config.update("jax_enable_x64", True)
    import htrmt as ht

    try:
        import powerlaw
    except ImportError:
        powerlaw = None
    try:
        import powerlawrs
    except ImportError:
        powerlawrs = None
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"backend {jax.default_backend()}, jax {jax.__version__}, x64 {not args.no_x64}, "
        f"{platform.machine()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(
        "powerlaw",
        getattr(powerlaw, "__version__", "absent"),
        "| powerlawrs",
        getattr(powerlawrs, "__version__", "absent") if powerlawrs else "absent",
    )
    est = {"powerlaw": None, "powerlawrs": None}
    rows = []
    for n in sizes:
        x = data(n, 0, args.data)
        dt = np.float64 if not args.no_x64 else np.float32
        xj = jax.numpy.asarray(x.astype(dt))

        def ours(xj=xj, **kw):
            f = ht.fit.powerlaw(xj, **kw)
            jax.block_until_ready(f.alpha)
            return f

        t0 = time.perf_counter()
        ours(ks="powerlaw", alpha_max=3.0)
        compile_s = time.perf_counter() - t0
        ours()
        t_pl, f_pl = timed(lambda: ours(ks="powerlaw", alpha_max=3.0), 5)
        t_ts, f_ts = timed(lambda: ours(), 5)
        worst = t_ts
        for s in range(1, args.seeds):
            xs = jax.numpy.asarray(data(n, s, args.data).astype(dt))
            worst = max(worst, timed(lambda xs=xs: ours(xs), 3)[0])
        row = dict(
            n=n,
            worst_ts_over_seeds=worst,
            compile=compile_s,
            ours=t_pl,
            ours_ts=t_ts,
            alpha=float(f_pl.alpha),
            xmin=float(f_pl.xmin),
            alpha_ts=float(f_ts.alpha),
            xmin_ts=float(f_ts.xmin),
        )
        # the `powerlaw` package
        prev = est["powerlaw"]
        if powerlaw is None:
            row["pl"] = "absent"
        elif prev is not None and prev[1] * (n / prev[0]) ** 2 > LIMIT_S:
            row["pl"] = f"skipped (predicted {prev[1] * (n / prev[0]) ** 2:.0f} s)"
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, ref = timed(lambda x=x: powerlaw.Fit(x, verbose=0), 1 if n > 3000 else 3)
            est["powerlaw"] = (n, t)
            row["pl"] = t
            row["pl_same_xmin"] = float(ref.xmin) == row["xmin"]
            row["pl_dalpha"] = abs(float(ref.alpha) - row["alpha"])
        prev = est["powerlawrs"]
        if powerlawrs is None:
            row["rs"] = "absent"
        elif prev is not None and prev[1] * (n / prev[0]) ** 2 > LIMIT_S:
            row["rs"] = f"skipped (predicted {prev[1] * (n / prev[0]) ** 2:.0f} s)"
        else:
            xl = x.tolist()
            t, r = timed(lambda xl=xl: powerlawrs.fit(xl), 1 if n > 3000 else 3)
            est["powerlawrs"] = (n, t)
            row["rs"] = t
            # powerlawrs reports the survival exponent α - 1
            row["rs_fit"] = (r.ParetoFit.x_min, r.ParetoFit.alpha + 1)
        rows.append(row)
        print(row, flush=True)

    print(
        "\n| n | htrmt (ks=powerlaw) | htrmt (two_sided) | compile | powerlaw | ratio "
        "| same xmin, abs dα | powerlawrs | ratio | powerlawrs xmin, α |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        pl = r["pl"]
        rs = r["rs"]
        plc = f"{pl:.3f} s" if isinstance(pl, float) else pl
        rsc = f"{rs:.3f} s" if isinstance(rs, float) else rs
        pr = f"{pl / r['ours']:.0f}×" if isinstance(pl, float) else "–"
        rr = f"{rs / r['ours_ts']:.0f}×" if isinstance(rs, float) else "–"
        agree = f"{r['pl_same_xmin']}, {r['pl_dalpha']:.1e}" if "pl_same_xmin" in r else "–"
        rsfit = f"{r['rs_fit'][0]:.4g}, {r['rs_fit'][1]:.4f}" if "rs_fit" in r else "–"
        print(
            f"| {r['n']} | {r['ours'] * 1e3:.1f} ms | {r['ours_ts'] * 1e3:.1f} ms "
            f"| {r['compile']:.1f} s "
            f"| {plc} | {pr} | {agree} | {rsc} | {rr} | {rsfit} |"
        )
    print(
        "\nhtrmt fits (two_sided): "
        + "; ".join(f"n={r['n']}: xmin={r['xmin_ts']:.4g}, α={r['alpha_ts']:.4f}" for r in rows)
    )


if __name__ == "__main__":
    main()
