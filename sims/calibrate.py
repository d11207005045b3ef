"""Calibration campaign: the power-law fitter and the phase classifier against ground truth.

Three parts, each an :mod:`htrmt.sweep` run (resumable: rerun the same command to finish an
interrupted campaign):

(a) ``pareto``: bias, standard deviation and coverage of the α estimator on exact Pareto
    samples ``p(x) ∝ x^-α`` on ``x >= 1``, for α ∈ {1.5, 2, 2.5, 3, 4, 6} and n ∈ {10², 10³, 10⁴},
    with xmin known (``powerlaw(x, xmin=1)``) and fitted (minimum KS distance). The known-xmin MLE
    has exact moments: ``E α̂ = α + (α-1)/(n-1)``, ``sd α̂ = (α-1)·n/((n-1)·√(n-2))``.
(b) ``alpha_mu``: α fitted to the ESD of ``W`` (``Q·M × M``, symmetric Pareto entries with tail
    index µ) for µ ∈ (0.5, 6), M ∈ {250, 500, 1000, 2000}, Q ∈ {1, 2, 4}; a straight line
    ``α = aµ + b`` fitted on 2 < µ < 4 for each (M, Q), and the limit ``α = µ/2 + 1`` checked
    for µ < 2.
(c) ``phases``: the confusion matrix of ``htrmt.phases.classify`` on
    ``htrmt.ensembles.phase_example`` matrices over sizes and aspect ratios.

Outputs (under ``out/sims/calibrate/<mode>/``): the sweep folders, summary arrays
(``*.npz``) each with a JSON sidecar (seed, sizes, x64, versions, devices, git commit), the
markdown tables ``calibration.md`` and the figure ``fig_calibration.png``.

Usage::

    python -m sims.calibrate --quick          # a couple of minutes on 2 CPU cores (CI)
    python -m sims.calibrate --full           # the whole grid: hours on a CPU, minutes on a GPU
    python -m sims.calibrate --full --parts b --M 250 500
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

if __name__ == "__main__":  # thread settings before jax is imported
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax
import jax.numpy as jnp
import numpy as np

import htrmt as ht
from htrmt import sweep

from ._common import dump_json, markdown_table, out_dir, save_arrays, write_sidecar, write_text

ALPHAS = (1.5, 2.0, 2.5, 3.0, 4.0, 6.0)

MODES = {
    "quick": {
        "a_n": (100, 1000),
        "a_trials": 200,
        "b_mu": (0.75, 1.0, 1.5, 2.5, 3.0, 3.5, 5.0),
        "b_M": (250,),
        "b_Q": (1, 2),
        "b_trials": {250: 4},
        "c_M": (250,),
        "c_Q": (1, 2),
        "c_trials": 5,
    },
    "full": {
        "a_n": (100, 1000, 10000),
        "a_trials": 500,
        "b_mu": tuple(float(m) for m in np.round(np.arange(0.75, 6.0, 0.25), 2)),
        "b_M": (250, 500, 1000, 2000),
        "b_Q": (1, 2, 4),
        "b_trials": {250: 16, 500: 16, 1000: 8, 2000: 4},
        "c_M": (250, 500, 1000),
        "c_Q": (1, 2, 4),
        "c_trials": 20,
    },
}

Z95 = 1.959963984540054


# --------------------------------------------------------------------------------------------
# Trial functions (pure, one trial each; vmapped and sharded by htrmt.sweep)
# --------------------------------------------------------------------------------------------


def pareto_trial(key, *, alpha, n):
    """One Pareto sample (xmin = 1, density exponent ``alpha``) and its two fits."""
    dt = jnp.result_type(float)
    e = jax.random.exponential(key, (n,), dt)
    x = jnp.exp(e / (jnp.asarray(alpha, dt) - 1))
    known = ht.fit.powerlaw(x, xmin=jnp.ones((), dt), throw=False)
    fitted = ht.fit.powerlaw(x, throw=False)
    return {
        "known": {"alpha": known.alpha, "sigma": known.sigma, "status": known.status},
        "fitted": {
            "alpha": fitted.alpha,
            "sigma": fitted.sigma,
            "xmin": fitted.xmin,
            "num_tail": fitted.num_tail,
            "status": fitted.status,
        },
    }


def esd_trial(key, *, mu, M, Q):
    """α of the ESD of a ``Q·M × M`` matrix with symmetric Pareto(µ) entries."""
    W = ht.ensembles.pareto(key, (Q * M, M), mu=mu)
    lam = ht.esd(W)
    fit = ht.fit.powerlaw(lam, throw=False)
    # the peer convention (powerlaw.Fit defaults, as used by WeightWatcher): left-limit KS
    # distance and candidates with α̂ >= 3 excluded
    peer = ht.fit.powerlaw(lam, ks="powerlaw", alpha_max=3.0, throw=False)
    return {
        "alpha": fit.alpha,
        "xmin": fit.xmin,
        "D": fit.D,
        "num_tail": fit.num_tail,
        "status": fit.status,
        "lam_max": lam[-1],
        "peer": {"alpha": peer.alpha, "num_tail": peer.num_tail, "status": peer.status},
    }


# --------------------------------------------------------------------------------------------
# Part (a)
# --------------------------------------------------------------------------------------------


def _exact_known(alpha: float, n: int) -> tuple[float, float]:
    """Exact bias and sd of the known-xmin MLE (α̂ - 1 = (α - 1)·n/Gamma(n, 1))."""
    return (alpha - 1) / (n - 1), (alpha - 1) * n / ((n - 1) * np.sqrt(n - 2))


def part_a(key, cfg, root: Path, *, progress: bool, devices) -> str:
    grid = {"alpha": list(ALPHAS), "n": list(cfg["a_n"])}
    trials = cfg["a_trials"]
    res = sweep.run(
        jax.random.fold_in(key, 1),
        pareto_trial,
        grid,
        trials=trials,
        out=root / "a_pareto",
        name="sims.calibrate.pareto_trial",
        chunk_size=250,
        progress=progress,
        devices=devices,
        meta={"part": "a", "seed": cfg["seed"]},
    )
    rows = []
    cols = {
        k: []
        for k in (
            "alpha",
            "n",
            "which",
            "bias",
            "sd",
            "mean_sigma",
            "coverage",
            "rmse",
            "num_ok",
            "exact_bias",
            "exact_sd",
            "mean_num_tail",
        )
    }
    for p, d in zip(res.points, res.data, strict=True):
        a, n = p["alpha"], p["n"]
        for which in ("known", "fitted"):
            ok = d[f"{which}.status"] == 0
            ah = d[f"{which}.alpha"][ok]
            sg = d[f"{which}.sigma"][ok]
            bias = float(ah.mean() - a)
            sd = float(ah.std(ddof=1))
            cover = float(np.mean(np.abs(ah - a) <= Z95 * sg))
            rmse = float(np.sqrt(np.mean((ah - a) ** 2)))
            eb, es = _exact_known(a, n) if which == "known" else (np.nan, np.nan)
            ntail = float(d["fitted.num_tail"][ok].mean()) if which == "fitted" else float(n)
            for k, v in zip(
                cols,
                (
                    a,
                    n,
                    which,
                    bias,
                    sd,
                    float(sg.mean()),
                    cover,
                    rmse,
                    int(ok.sum()),
                    eb,
                    es,
                    ntail,
                ),
                strict=True,
            ):
                cols[k].append(v)
            rows.append(
                (
                    a,
                    n,
                    which,
                    bias,
                    eb,
                    sd,
                    es,
                    float(sg.mean()),
                    cover,
                    ntail,
                    f"{int(ok.sum())}/{trials}",
                )
            )
    save_arrays(root / "a_pareto_summary.npz", **{k: np.asarray(v) for k, v in cols.items()})
    write_sidecar(
        root / "a_pareto_summary.json",
        seed=int(cfg["seed"]),
        sizes={"alpha": list(ALPHAS), "n": list(cfg["a_n"]), "trials": trials},
        part="a",
        mode=cfg["mode"],
        sweep=str(root / "a_pareto"),
    )
    head = [
        "α",
        "n",
        "xmin",
        "bias",
        "exact bias",
        "sd",
        "exact sd",
        "mean σ̂",
        "coverage (95%)",
        "mean n_tail",
        "ok",
    ]
    md = (
        f"### (a) α estimator on exact Pareto samples ({trials} trials per cell)\n\n"
        "bias = mean(α̂) − α; sd = standard deviation of α̂ over trials; σ̂ = (α̂−1)/√n_tail "
        "(the fitter's own error bar); coverage = fraction of trials with |α̂ − α| ≤ 1.96 σ̂. "
        "Exact values for xmin known: E α̂ − α = (α−1)/(n−1), sd = (α−1)n/((n−1)√(n−2)).\n\n"
        + markdown_table(head, rows, fmt="{:.4f}")
    )
    return md


# --------------------------------------------------------------------------------------------
# Part (b)
# --------------------------------------------------------------------------------------------


def _linfit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """OLS y = a x + b with standard errors (a, b, se_a, se_b)."""
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(len(x) - 2, 1)
    s2 = float(np.sum((y - A @ coef) ** 2) / dof)
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(coef[1]), float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))


def _get_sweep(
    key, fn, grid, *, trials, out: Path, name, chunk_size, progress, devices, meta, run: bool
):
    """Run (or resume) a sweep; with ``run=False`` only read what is already complete."""
    if not run:
        if not (out / "sweep.json").exists():
            return None
        return sweep.load(out)
    return sweep.run(
        key,
        fn,
        grid,
        trials=trials,
        out=out,
        name=name,
        chunk_size=chunk_size,
        progress=progress,
        devices=devices,
        meta=meta,
    )


ESTIMATORS = {
    "ksmin": ("alpha", "status", "num_tail"),
    "peer": ("peer.alpha", "peer.status", "peer.num_tail"),
}


def part_b(key, cfg, root: Path, *, progress: bool, devices, run: bool = True) -> str:
    mus = list(cfg["b_mu"])
    names = (
        "est",
        "M",
        "Q",
        "mu",
        "mean",
        "median",
        "sd",
        "num_ok",
        "trials",
        "mean_num_tail",
        "mean_lam_max",
    )
    cols = {k: [] for k in names}
    fits = []
    timings = {}
    for M in cfg["b_M"]:
        trials = cfg["b_trials"][M]
        grid = {"M": [M], "Q": list(cfg["b_Q"]), "mu": mus}
        t0 = time.perf_counter()
        res = _get_sweep(
            jax.random.fold_in(key, 2),
            esd_trial,
            grid,
            trials=trials,
            out=root / f"b_alpha_mu_M{M}",
            name="sims.calibrate.esd_trial/v2",
            chunk_size=max(1, 16_000_000 // (M * M * 4)),
            progress=progress,
            devices=devices,
            meta={"part": "b", "M": M, "seed": cfg["seed"]},
            run=run,
        )
        timings[M] = time.perf_counter() - t0
        if res is None or not len(res):
            continue
        for est, (ka, ks_, kn) in ESTIMATORS.items():
            for p, d in zip(res.points, res.data, strict=True):
                ok = d[ks_] == 0
                a = d[ka][ok]
                vals = (
                    est,
                    M,
                    p["Q"],
                    p["mu"],
                    a.mean() if a.size else np.nan,
                    np.median(a) if a.size else np.nan,
                    a.std(ddof=1) if a.size > 1 else np.nan,
                    int(ok.sum()),
                    trials,
                    d[kn][ok].mean() if a.size else np.nan,
                    d["lam_max"].mean(),
                )
                for k, v in zip(names, vals, strict=True):
                    cols[k].append(v)
            for Q in cfg["b_Q"]:
                xs, ys, lim = [], [], []
                for pt, d in zip(res.points, res.data, strict=True):
                    if pt["Q"] != Q:
                        continue
                    mu = pt["mu"]
                    a = d[ka][d[ks_] == 0]
                    if 2 < mu < 4:
                        xs.append(np.full(a.shape, mu))
                        ys.append(a)
                    if mu < 2 and a.size:
                        se = float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else np.nan
                        lim.append((mu, float(a.mean()), se))
                x = np.concatenate(xs) if xs else np.empty(0)
                y = np.concatenate(ys) if ys else np.empty(0)
                if len(np.unique(x)) >= 2:
                    a_, b_, sa, sb = _linfit(x, y)
                else:
                    a_ = b_ = sa = sb = np.nan
                dev = [m - (mu / 2 + 1) for mu, m, _ in lim]
                fits.append(
                    {
                        "est": est,
                        "M": M,
                        "Q": Q,
                        "trials": trials,
                        "a": a_,
                        "b": b_,
                        "se_a": sa,
                        "se_b": sb,
                        "num_mu_fit": int(len(np.unique(x))),
                        "limit_mu": [mu for mu, _, _ in lim],
                        "limit_mean_alpha": [m for _, m, _ in lim],
                        "limit_se": [s_ for _, _, s_ in lim],
                        "limit_dev": dev,
                        "limit_max_abs_dev": float(np.max(np.abs(dev))) if dev else np.nan,
                    }
                )
    if not fits:
        return "### (b) α(µ)\n\nNo data.\n"
    arrays = {k: np.asarray(v) for k, v in cols.items()}
    for k in ("a", "b", "se_a", "se_b", "limit_max_abs_dev"):
        arrays[f"fit_{k}"] = np.asarray([f[k] for f in fits], dtype=float)
    for k in ("est", "M", "Q"):
        arrays[f"fit_{k}"] = np.asarray([f[k] for f in fits])
    save_arrays(root / "b_alpha_mu.npz", **arrays)
    Ms = sorted({f["M"] for f in fits})
    write_sidecar(
        root / "b_alpha_mu.json",
        seed=int(cfg["seed"]),
        sizes={
            "mu": mus,
            "M": Ms,
            "Q": list(cfg["b_Q"]),
            "trials": {str(M): cfg["b_trials"][M] for M in Ms},
        },
        part="b",
        mode=cfg["mode"],
        fits=fits,
        seconds_per_M=timings,
        entries="symmetric Pareto (htrmt.ensembles.pareto), normalization N",
        estimators={
            "ksmin": "htrmt.fit.powerlaw(lam): xmin by minimum two-sided KS distance",
            "peer": "htrmt.fit.powerlaw(lam, ks='powerlaw', alpha_max=3): powerlaw.Fit defaults",
        },
    )
    head = [
        "estimator",
        "M",
        "Q",
        "trials",
        "a",
        "b",
        "µ values in (2, 4)",
        "max |ᾱ − (µ/2+1)|, µ < 2",
    ]
    rows = [
        (
            f["est"],
            f["M"],
            f["Q"],
            f["trials"],
            f"{f['a']:.3f} ± {f['se_a']:.3f}",
            f"{f['b']:.3f} ± {f['se_b']:.3f}",
            f["num_mu_fit"],
            f["limit_max_abs_dev"],
        )
        for f in fits
    ]
    md = (
        "### (b) α of the ESD against the entries' tail index µ\n\n"
        "W is Q·M × M with symmetric Pareto entries (P(|w| > x) = x^−µ). Estimators: `ksmin` = "
        "`htrmt.fit.powerlaw(esd(W))` (xmin by minimum two-sided KS distance, α unrestricted); "
        '`peer` = `powerlaw(esd(W), ks="powerlaw", alpha_max=3)` (the defaults of the '
        "`powerlaw` package, which WeightWatcher uses: candidates with α̂ ≥ 3 are excluded). "
        "a, b: least squares α = aµ + b over all trials with 2 < µ < 4 (± standard errors). "
        "Last column: the largest deviation of the mean α from µ/2 + 1 over the µ < 2 values.\n\n"
        + markdown_table(head, rows)
    )
    Qs = list(cfg["b_Q"])
    for est in ESTIMATORS:
        head2 = ["µ", "µ/2+1"] + [f"M={M},Q={Q}" for M in Ms for Q in Qs]
        rows2 = []
        for mu in mus:
            r = [mu, mu / 2 + 1]
            for M in Ms:
                for Q in Qs:
                    i = [
                        j
                        for j in range(len(cols["mu"]))
                        if cols["est"][j] == est
                        and cols["M"][j] == M
                        and cols["Q"][j] == Q
                        and cols["mu"][j] == mu
                    ]
                    r.append(cols["mean"][i[0]] if i else np.nan)
            rows2.append(r)
        md += f"\nMean α per µ, estimator `{est}`:\n\n" + markdown_table(head2, rows2, fmt="{:.2f}")
    return md


# --------------------------------------------------------------------------------------------
# Part (c)
# --------------------------------------------------------------------------------------------


def part_c(key, cfg, root: Path, *, progress: bool, devices) -> str:
    """The classifier's confusion matrix (:func:`htrmt.phases.confusion_matrix`) per size."""
    names = tuple(ht.phases.PHASES)
    trials = cfg["c_trials"]
    sizes = [(int(M), int(Q)) for M in cfg["c_M"] for Q in cfg["c_Q"]]
    cm = ht.phases.confusion_matrix(
        jax.random.fold_in(key, 3), shapes=tuple((Q * M, M) for M, Q in sizes), trials=trials
    )
    k = len(names)
    conf = np.asarray(cm.counts, dtype=int)
    by_size = {(M, Q): np.asarray(cm.per_shape[(Q * M, M)], dtype=int) for M, Q in sizes}
    sizes = sorted(by_size)
    save_arrays(
        root / "c_confusion.npz",
        confusion=conf,
        phases=np.asarray(names),
        by_size=np.stack([by_size[s] for s in sizes]),
        sizes=np.asarray(sizes),
    )
    write_sidecar(
        root / "c_confusion.json",
        seed=int(cfg["seed"]),
        sizes={"M": list(cfg["c_M"]), "Q": list(cfg["c_Q"]), "trials": trials},
        part="c",
        mode=cfg["mode"],
        phases=list(names),
    )
    rows = [
        [names[i]] + [int(v) for v in conf[i]] + [f"{conf[i, i] / max(conf[i].sum(), 1):.0%}"]
        for i in range(k)
    ]
    md = (
        f"### (c) phase classifier confusion matrix ({trials} matrices per phase and size; "
        f"M ∈ {list(cfg['c_M'])}, Q ∈ {list(cfg['c_Q'])})\n\n"
        "Rows: the phase `phase_example` generated; columns: `classify`'s verdict.\n\n"
        + markdown_table(["true \\ classified"] + list(names) + ["correct"], rows)
    )
    per = []
    for s in sizes:
        c = by_size[s]
        per.append([s[0], s[1]] + [f"{c[i, i] / max(c[i].sum(), 1):.0%}" for i in range(k)])
    md += "\nCorrect per phase and size:\n\n" + markdown_table(["M", "Q"] + list(names), per)
    return md


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sims.calibrate", description=__doc__.split("\n")[0]
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small grid for CI (default)")
    mode.add_argument("--full", action="store_true", help="the whole grid (long)")
    parser.add_argument("--parts", nargs="+", choices=("a", "b", "c"), default=["a", "b", "c"])
    parser.add_argument(
        "--M", nargs="+", type=int, default=None, help="restrict part (b) to these sizes M"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", default=None, help="output folder (default out/sims/calibrate/<mode>)"
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument(
        "--no-figure", action="store_true", help="deprecated, no effect: figures draw from the data"
    )
    parser.add_argument(
        "--summarize-only",
        action="store_true",
        help="part (b): only summarise the points already computed (no new runs)",
    )
    parser.add_argument("--devices", type=int, default=None, help="number of devices to shard over")
    args = parser.parse_args(argv)

    jax.config.update("jax_enable_x64", True)  # heavy tails (µ < 1) overflow float32 Gram matrices
    mode_name = "full" if args.full else "quick"
    cfg = dict(MODES[mode_name], mode=mode_name, seed=args.seed)
    if args.M:
        bad = [m for m in args.M if m not in cfg["b_trials"]]
        if bad:
            parser.error(f"--M {bad}: sizes of the {mode_name} grid are {list(cfg['b_trials'])}")
        cfg["b_M"] = tuple(args.M)
    root = Path(args.out) if args.out else out_dir("calibrate", mode_name)
    root.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(args.seed)
    progress = not args.no_progress
    sections = {}
    t0 = time.perf_counter()
    for part, fn in (("a", part_a), ("b", part_b), ("c", part_c)):
        if part in args.parts:
            t = time.perf_counter()
            kw = {"run": not args.summarize_only} if part == "b" else {}
            sections[part] = fn(key, cfg, root, progress=progress, devices=args.devices, **kw)
            print(f"part ({part}) done in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            write_text(root / f"calibration_{part}.md", sections[part])
    md = [f"# Calibration ({mode_name} mode, seed {args.seed})\n"]
    for part in ("a", "b", "c"):
        p = root / f"calibration_{part}.md"
        if p.exists():
            md.append(p.read_text())
    write_text(root / "calibration.md", "\n".join(md))
    dump_json(root / "timing.json", {"parts": args.parts, "seconds": time.perf_counter() - t0})
    print(f"wrote {root / 'calibration.md'}", file=sys.stderr)
    return 0


def data_path(name: str = "calibrate", *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """The part (b) data file of a mode (what ``figures/fig_calibration.py`` plots)."""
    from .outputs import out_root

    return out_root(root) / "sims" / "calibrate" / ("quick" if quick else "full") / "b_alpha_mu.npz"


def simulate(name: str = "calibrate", *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """Run the campaign (all parts) into its default folder; returns :func:`data_path`."""
    path = data_path(name, quick=quick, seed=seed, root=root)
    argv = ["--quick" if quick else "--full", "--seed", str(seed), "--no-progress"]
    main(argv + ["--out", str(path.parent)])
    return path


if __name__ == "__main__":
    sys.exit(main())
