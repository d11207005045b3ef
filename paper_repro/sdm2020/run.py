"""Martin & Mahoney (SDM 2020), Heavy-Tailed Universality Predicts Trends in Test Accuracies.

Within a series of models of one family trained on the same data, the weighted alpha
``α̂ = mean over layers of α·log10 λ_max`` should fall as the test accuracy rises, and the mean
log Frobenius norm (the log product norm) should track α̂. Here the series are small MLPs
trained on scikit-learn's digits with the same recipe (SGD, same epochs and learning rate):

- ``arch``: varied depth and width (the paper's VGG11/13/16/19 are a depth series);
- ``l2``: one architecture, varied L2 regularisation strength.

For each series: a least-squares line ``accuracy = a·α̂ + b`` with its R² and RMSE, Kendall's τ
between α̂ and accuracy, and the Pearson correlation (and R²) of the log-norm against α̂.
Each series is one cached part (``out/paper_repro/sdm2020/<mode>/part_<series>.json``).

Usage::

    python -m paper_repro sdm2020 --quick
    python -m paper_repro.sdm2020.run --full [--parts arch l2] [--force]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

from paper_repro import _common as C
from sims.outputs import markdown_table

PAPER = "sdm2020"
TITLE = "Martin & Mahoney (2020), Heavy-Tailed Universality Predicts Trends in Test Accuracies"
REFERENCE = "Proc. SIAM SDM 2020, pp. 505-513"
HERE = Path(__file__).resolve().parent

CONFIG = {
    "quick": {
        "arch": {
            "models": [[d, w] for d in (1, 2, 3) for w in (128, 256)],
            "lr": 0.05,
            "epochs": 10,
            "batch_size": 32,
        },
        "l2": {
            "depth": 2,
            "width": 256,
            "l2": [0.0, 1e-3, 2e-3, 4e-3, 8e-3, 1.6e-2, 3.2e-2],
            "lr": 0.05,
            "epochs": 10,
            "batch_size": 32,
        },
    },
    "full": {
        "arch": {
            "models": [[d, w] for d in (1, 2, 3, 4) for w in (64, 128, 256, 512)],
            "lr": 0.05,
            "epochs": 30,
            "batch_size": 32,
        },
        "l2": {
            "depth": 2,
            "width": 256,
            "l2": [
                0.0,
                5e-4,
                1e-3,
                1.5e-3,
                2e-3,
                3e-3,
                4e-3,
                6e-3,
                8e-3,
                1.2e-2,
                1.6e-2,
                2.4e-2,
                3.2e-2,
            ],
            "lr": 0.05,
            "epochs": 30,
            "batch_size": 32,
        },
    },
}


# The checks of expected.json (numbers derived by ``python -m paper_repro._tolerances``).
CHECKS = {
    "arch.fit.tau": dict(
        part="arch",
        kind="approx",
        what="depth/width series: Kendall τ(α̂, test accuracy) (paper: negative)",
    ),
    "arch.fit.r2": dict(
        part="arch", kind="approx", what="depth/width series: R² of accuracy = a·α̂ + b"
    ),
    "arch.fit.rmse": dict(
        part="arch", kind="approx", what="depth/width series: RMSE of that line (accuracy units)"
    ),
    "arch.lognorm_vs_alpha_hat.pearson": dict(
        part="arch",
        kind="approx",
        what="depth/width series: Pearson r(log-norm, α̂) (paper: log-norm approximates α̂)",
    ),
    "l2.fit.tau": dict(
        part="l2", kind="approx", what="L2 series: Kendall τ(α̂, test accuracy) (paper: negative)"
    ),
    "l2.fit.r2": dict(part="l2", kind="approx", what="L2 series: R² of accuracy = a·α̂ + b"),
    "l2.fit.rmse": dict(
        part="l2", kind="approx", what="L2 series: RMSE of that line (accuracy units)"
    ),
    "l2.lognorm_vs_alpha_hat.pearson": dict(
        part="l2", kind="approx", what="L2 series: Pearson r(log-norm, α̂)"
    ),
}


def _metrics(model) -> dict:
    """Mean α̂ and mean log10 ‖W‖_F² over the layers, from the eigenvalues of WᵀW (not divided
    by N: the convention of the paper's tool, under which ``log10 λ_max`` is the log spectral
    norm and α̂ is comparable with the log-norm)."""
    import htrmt as ht

    rep = ht.analyze(model, fingers=False, normalization="none")
    layers = [
        {"name": r.name, "alpha": r.alpha, "alpha_weighted": r.alpha_weighted, "status": r.status}
        for r in rep.layers
    ]
    return {
        "alpha_weighted": rep.summary.alpha_weighted,
        "alpha": rep.summary.alpha,
        "log_norm": rep.summary.log_norm,
        "num_ok": rep.summary.num_ok,
        "num_layers": rep.summary.num_layers,
        "layers": layers,
    }


def _train_one(seed: int, salt: int, depth: int, width: int, l2: float, cfg, data) -> dict:
    import jax

    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 100), salt)
    mkey, tkey = jax.random.split(key)
    model = C.make_mlp(mkey, width, depth)
    model, loss = C.train_mlp(
        tkey,
        model,
        data,
        batch_size=cfg["batch_size"],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        l2=[l2] * (depth + 1),
    )
    m = _metrics(model)
    acc = C.accuracy(model, data[2], data[3])
    print(
        f"  depth {depth} width {width:4d} L2 {l2:.2g}: α̂ = {m['alpha_weighted']:.3f}, "
        f"log-norm = {m['log_norm']:.3f}, test acc {acc:.4f}",
        flush=True,
    )
    return {"depth": depth, "width": width, "l2": l2, "train_loss": loss, "test_accuracy": acc, **m}


def regression(x, y) -> dict:
    """Least squares ``y = a·x + b``: slope, intercept, R², RMSE; Kendall τ (with p-value)."""
    from scipy.stats import kendalltau

    x = np.asarray(x, float)
    y = np.asarray(y, float)
    a, b = np.polyfit(x, y, 1)
    res = y - (a * x + b)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    kt = kendalltau(x, y)
    return {
        "slope": float(a),
        "intercept": float(b),
        "r2": float(1 - np.sum(res**2) / ss_tot) if ss_tot > 0 else float("nan"),
        "rmse": float(np.sqrt(np.mean(res**2))),
        "tau": float(kt.statistic),
        "tau_p": float(kt.pvalue),
        "n": int(x.size),
    }


def _stats(models: list[dict]) -> dict:
    ah = [m["alpha_weighted"] for m in models]
    acc = [m["test_accuracy"] for m in models]
    ln = [m["log_norm"] for m in models]
    fit = regression(ah, acc)
    r = float(np.corrcoef(ah, ln)[0, 1])
    return {
        "models": models,
        "fit": fit,
        "lognorm_vs_alpha_hat": {
            "pearson": r,
            "r2": r * r,
            **{k: v for k, v in regression(ah, ln).items() if k in ("slope", "intercept", "tau")},
        },
        "accuracy_range": [float(min(acc)), float(max(acc))],
        "alpha_hat_range": [float(min(ah)), float(max(ah))],
        "trend_holds": bool(fit["tau"] < 0),
    }


def series_arch(cfg, seed: int) -> dict:
    data = C.digits_split(seed)
    models = [_train_one(seed, i, d, w, 0.0, cfg, data) for i, (d, w) in enumerate(cfg["models"])]
    return _stats(models)


def series_l2(cfg, seed: int) -> dict:
    data = C.digits_split(seed)
    models = [
        _train_one(seed, 0, cfg["depth"], cfg["width"], float(c), cfg, data) for c in cfg["l2"]
    ]
    return _stats(models)


def plot(results: dict, folder: Path) -> Path | None:
    """Per series: test accuracy against α̂ (with the fitted line) and log-norm against α̂."""
    if not results:
        return None
    plt = C.pyplot()
    n = len(results)
    fig, axes = plt.subplots(n, 2, figsize=(11, 4.2 * n), squeeze=False)
    for row, (name, res) in zip(axes, results.items(), strict=True):
        ms = res["models"]
        ah = np.array([m["alpha_weighted"] for m in ms])
        acc = np.array([m["test_accuracy"] for m in ms])
        ln = np.array([m["log_norm"] for m in ms])
        f = res["fit"]
        labels = (
            [f"d{m['depth']} w{m['width']}" for m in ms]
            if name == "arch"
            else [f"{m['l2']:.2g}" for m in ms]
        )
        ax = row[0]
        ax.scatter(ah, acc, c="C0")
        for x, y, t in zip(ah, acc, labels, strict=True):
            ax.annotate(t, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        g = np.linspace(ah.min(), ah.max(), 20)
        ax.plot(
            g,
            f["slope"] * g + f["intercept"],
            "k--",
            label=f"fit: R² = {f['r2']:.2f}, RMSE = {f['rmse']:.3f}, τ = {f['tau']:.2f}",
        )
        ax.set_xlabel("weighted alpha α̂")
        ax.set_ylabel("test accuracy")
        ax.set_title(f"series '{name}': accuracy against α̂")
        ax.legend(fontsize=8)
        ax = row[1]
        ax.scatter(ah, ln, c="C1")
        r = res["lognorm_vs_alpha_hat"]["pearson"]
        ax.set_xlabel("weighted alpha α̂")
        ax.set_ylabel("mean log10 ‖W‖_F²")
        ax.set_title(f"series '{name}': log-norm against α̂ (r = {r:.3f})")
    fig.suptitle("Martin & Mahoney (SDM 2020): small-scale reproduction on digits")
    fig.tight_layout()
    return C.save_figure(fig, folder)


PARTS = {"arch": series_arch, "l2": series_l2}


def _extra_md(results: dict) -> str:
    md = ""
    for name, res in results.items():
        f, g = res["fit"], res["lognorm_vs_alpha_hat"]
        md += (
            f"\n## series `{name}`\n\n"
            f"accuracy = {f['slope']:.4f}·α̂ + {f['intercept']:.4f}: R² = {f['r2']:.3f}, "
            f"RMSE = {f['rmse']:.4f}, Kendall τ(α̂, accuracy) = {f['tau']:.3f} "
            f"(p = {f['tau_p']:.2g}, n = {f['n']}); log-norm vs α̂: Pearson r = "
            f"{g['pearson']:.3f} (R² = {g['r2']:.3f}). Trend (smaller α̂, better accuracy) "
            f"{'holds' if res['trend_holds'] else 'does NOT hold'} in this series.\n\n"
        )
        md += markdown_table(
            ["depth", "width", "L2", "α̂", "mean α", "log-norm", "train CE", "test acc"],
            [
                (
                    m["depth"],
                    m["width"],
                    f"{m['l2']:.2g}",
                    m["alpha_weighted"],
                    m["alpha"],
                    m["log_norm"],
                    m["train_loss"],
                    m["test_accuracy"],
                )
                for m in res["models"]
            ],
            fmt="{:.3f}",
        )
    return md


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
        if p in parts:
            fn = (lambda f, c: lambda: f(c, args.seed))(PARTS[p], cfg[p])
            results[p] = C.cached_part(
                folder, p, {**cfg[p], "seed": args.seed}, fn, force=args.force
            )
    rows = C.write_results(
        folder, PAPER, mode, args.seed, expected, results, extra_md=_extra_md(results), sizes=cfg
    )
    plot(results, folder)
    return C.finish(rows, folder)


if __name__ == "__main__":
    sys.exit(main())
