"""Zhou et al. (NeurIPS 2023), TempBalance: per-layer learning rates from the layers' α.

TempBalance scales the learning rate of each layer by a linear map of its ESD tail exponent α
(``r_min = 0.5`` for the smallest α, ``r_max = 1.5`` for the largest), recomputed after every
epoch, on top of a base schedule, and reports higher test accuracy than the base schedule alone.
Here: the CNN of ``htrmt.networks.default_model()`` (two conv layers, three dense) trained from
scratch on scikit-learn's digits with SGD (momentum 0.9, weight decay 5e-4, cosine annealing),
against the same recipe with ``htrmt.training.temp_balance`` chained after it, over several
seeds (same initialisation and batch order for both arms of a seed).

Parts: ``seed<k>`` (both arms of seed k), ``summary`` (mean ± sd over the seeds, paired
difference); each cached in ``out/paper_repro/tempbalance/<mode>/part_<x>.json``. The figure
(``figure.png``) shows, for the first seed, each layer's α over the epochs in both arms and the
learning-rate factor TempBalance gave it.

Usage::

    python -m paper_repro tempbalance --quick
    python -m paper_repro.tempbalance.run --full [--force]
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

PAPER = "tempbalance"
TITLE = (
    "Zhou et al. (2023), Temperature Balancing, Layer-wise Weight Analysis, and Neural "
    "Network Training (TempBalance)"
)
REFERENCE = "NeurIPS 2023"
HERE = Path(__file__).resolve().parent

_RECIPE = {
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "batch_size": 32,
    "r_min": 0.5,
    "r_max": 1.5,
    "estimator": "tempbalance",
}
CONFIG = {
    # quick: a gentler rate (at 0.1 a 3-epoch TempBalance run diverged on one seed of five)
    "quick": {**_RECIPE, "lr": 0.05, "seeds": 1, "epochs": 3},
    "full": {**_RECIPE, "seeds": 8, "epochs": 30},
}
ARMS = ("baseline", "tempbalance")

# The checks of expected.json (numbers derived by ``python -m paper_repro._tolerances``).
CHECKS = {
    "summary.baseline.mean_acc": dict(
        part="summary", kind="approx", what="baseline (SGD + cosine): mean test accuracy"
    ),
    "summary.tempbalance.mean_acc": dict(
        part="summary", kind="approx", what="TempBalance on the same schedule: mean test accuracy"
    ),
    "summary.diff.mean": dict(
        part="summary",
        kind="approx",
        what="paired difference TempBalance − baseline of test accuracy, mean over seeds "
        "(paper: > 0)",
    ),
    "summary.min_acc": dict(
        part="summary",
        kind="min",
        what="lowest test accuracy of any run (both arms train: ≥ 0.97; full mode only: 3 "
        "quick epochs reach ≈ 0.85)",
        spec={"expected": 0.97, "tol": 0.0},
        full_only=True,
    ),
    "summary.factors_span": dict(
        part="summary",
        kind="one_of",
        what="at every recomputation the assigned factors span exactly [r_min, r_max]",
        spec={"expected": [True]},
    ),
    "summary.excluded_at_base": dict(
        part="summary",
        kind="one_of",
        what="first and last layer (and layers under eigs_thresh) keep the base rate: factor 1",
        spec={"expected": [True]},
    ),
    "summary.assigned": dict(
        part="summary",
        kind="one_of",
        what="layers given a factor (conv1: 9 eigenvalues < 50 and first; fc3: last)",
        spec={"expected": [["conv2.weight", "fc1.weight", "fc2.weight"]]},
    ),
}


def _optimizer(cfg, steps_per_epoch: int, arm: str):
    import optax

    import htrmt as ht

    schedule = optax.cosine_decay_schedule(cfg["lr"], cfg["epochs"] * steps_per_epoch)
    parts = [
        optax.add_decayed_weights(cfg["weight_decay"]),
        optax.sgd(schedule, momentum=cfg["momentum"]),
    ]
    if arm == "tempbalance":
        parts.append(
            ht.training.temp_balance(
                every=steps_per_epoch,
                r_min=cfg["r_min"],
                r_max=cfg["r_max"],
                estimator=cfg["estimator"],
            )
        )
    return optax.chain(*parts), schedule


def train_arm(cfg, seed: int, arm: str, data) -> dict:
    """Train one arm from the initialisation of ``seed``; α of every layer after every epoch
    and, for TempBalance, the factors in use during every epoch."""
    import equinox as eqx

    import htrmt as ht

    n = int(data[0].shape[0])
    spe = n // min(cfg["batch_size"], n)
    opt, schedule = _optimizer(cfg, spe, arm)
    alphas: list[dict] = []
    factors: list[dict] = []
    losses: list[float] = []
    included: list[str] = []

    def on_epoch(e, model, state, loss):
        m = ht.act.layer_metrics(eqx.filter(model, eqx.is_array), estimator=cfg["estimator"])
        alphas.append(m.as_dict("alpha"))
        if e == 0:
            included.extend(n for n, i in zip(m.names, m.included.tolist(), strict=True) if i)
        if e > 0:
            losses.append(loss)
            if arm == "tempbalance":
                # the state after epoch e holds the factors computed at its first step
                factors.append(ht.training.balance_factors(state))

    model = C.digits_cnn(1000 + seed)
    model, state, loss = C.train_optax(
        2000 + seed, model, data, opt, batch_size=cfg["batch_size"], epochs=cfg["epochs"],
        on_epoch=on_epoch,
    )  # fmt: skip
    acc = C.accuracy(model, data[2], data[3])
    base_lr = [float(schedule(e * spe)) for e in range(cfg["epochs"])]
    print(f"  seed {seed} {arm:11s}: test acc {acc:.4f}, train CE {loss:.4f}", flush=True)
    return {
        "test_accuracy": acc,
        "train_loss": loss,
        "losses": losses,
        "alpha": alphas,
        "factor": factors,
        "included": included,
        "base_lr_epoch_start": base_lr,
    }


def run_seed(cfg, seed: int) -> dict:
    data = C.digits_images(C.digits_split(seed))
    return {arm: train_arm(cfg, seed, arm, data) for arm in ARMS}


def summarize(cfg, seed_results: list[dict]) -> dict:
    acc = {arm: np.array([r[arm]["test_accuracy"] for r in seed_results]) for arm in ARMS}
    diff = acc["tempbalance"] - acc["baseline"]
    k = diff.size
    sd = float(diff.std(ddof=1)) if k > 1 else float("nan")
    tb = [r["tempbalance"] for r in seed_results]
    names = list(tb[0]["alpha"][0])
    # the layers TempBalance may assign: at least eigs_thresh eigenvalues, not first or last
    assigned = [n for n in tb[0]["included"] if n not in (names[0], names[-1])]
    others = [n for n in names if n not in assigned]
    spans, excluded = True, True
    for r in tb:
        for f in r["factor"]:
            vals = [f[n] for n in assigned]
            spans &= bool(
                np.isclose(min(vals), cfg["r_min"], atol=1e-5)
                and np.isclose(max(vals), cfg["r_max"], atol=1e-5)
            )
            excluded &= all(f[n] == 1.0 for n in others)
    out = {
        arm: {
            "accs": acc[arm].tolist(),
            "mean_acc": float(acc[arm].mean()),
            "sd_acc": float(acc[arm].std(ddof=1)) if k > 1 else float("nan"),
        }
        for arm in ARMS
    }
    out["diff"] = {
        "values": diff.tolist(),
        "mean": float(diff.mean()),
        "sd": sd,
        "se": sd / np.sqrt(k) if k > 1 else float("nan"),
        "num_seeds_tb_better": int(np.sum(diff > 0)),
        "num_seeds_tied": int(np.sum(diff == 0)),
    }
    out["min_acc"] = float(min(acc["baseline"].min(), acc["tempbalance"].min()))
    out["factors_span"] = spans
    out["excluded_at_base"] = excluded
    out["assigned"] = assigned
    out["num_seeds"] = k
    return out


def plot(seed_result: dict, folder: Path) -> Path:
    """α per layer over the epochs (both arms) and the TempBalance factors per epoch."""
    plt = C.pyplot()
    names = list(seed_result["baseline"]["alpha"][0])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
    for j, name in enumerate(names):
        for arm, ls in (("baseline", "--"), ("tempbalance", "-")):
            a = [d[name] for d in seed_result[arm]["alpha"]]
            axes[0].plot(range(len(a)), a, ls, color=f"C{j}", label=f"{name} ({arm})")
        f = [d[name] for d in seed_result["tempbalance"]["factor"]]
        axes[1].step(range(1, len(f) + 1), f, where="mid", color=f"C{j}", label=name)
    axes[0].set_xlabel("epoch (0: initialisation)")
    axes[0].set_ylabel("α (Hill, median xmin)")
    axes[0].set_title("per-layer α: TempBalance (solid) and baseline (dashed)")
    axes[0].legend(fontsize=6, ncol=2)
    axes[1].set_xlabel("epoch")
    axes[1].set_ylabel("learning-rate factor (× base η_t)")
    axes[1].set_title("TempBalance factors in use during each epoch")
    axes[1].legend(fontsize=7)
    fig.suptitle("TempBalance on the digits CNN (first seed)")
    fig.tight_layout()
    return C.save_figure(fig, folder)


def _extra_md(summary: dict, seed_results: list[dict]) -> str:
    s = summary
    md = (
        f"\n## Test accuracy over {s['num_seeds']} seed(s)\n\n"
        f"baseline {s['baseline']['mean_acc']:.4f} ± {s['baseline']['sd_acc']:.4f}, "
        f"TempBalance {s['tempbalance']['mean_acc']:.4f} ± {s['tempbalance']['sd_acc']:.4f} "
        f"(mean ± sd); paired difference {s['diff']['mean']:+.4f} ± {s['diff']['se']:.4f} "
        f"(mean ± standard error); TempBalance better on {s['diff']['num_seeds_tb_better']}, "
        f"tied on {s['diff']['num_seeds_tied']} of {s['num_seeds']} seeds.\n\n"
    )
    md += markdown_table(
        ["seed", "baseline acc", "TempBalance acc", "difference"],
        [
            (i, r["baseline"]["test_accuracy"], r["tempbalance"]["test_accuracy"], d)
            for i, (r, d) in enumerate(zip(seed_results, s["diff"]["values"], strict=True))
        ],
        fmt="{:.4f}",
    )
    r0 = seed_results[0]["tempbalance"]
    names = list(r0["alpha"][0])
    md += "\n## First seed: α at the end of each epoch and TempBalance factors\n\n"
    md += markdown_table(
        ["epoch", *[f"α {n}" for n in names], *[f"factor {n}" for n in names]],
        [
            (
                e,
                *[r0["alpha"][e][n] for n in names],
                *[(r0["factor"][e - 1][n] if e > 0 else float("nan")) for n in names],
            )
            for e in range(len(r0["alpha"]))
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
    seeds = [args.seed + i for i in range(cfg["seeds"])]
    valid = [f"seed{s}" for s in seeds] + ["summary"]
    parts = args.parts or valid
    bad = [p for p in parts if p not in valid]
    if bad:
        print(f"unknown part(s) {bad}; valid: {valid}", file=sys.stderr)
        return 2
    results: dict = {}
    seed_results = []
    for s in seeds:
        name = f"seed{s}"
        if name in parts or "summary" in parts:
            fn = (lambda s: lambda: run_seed(cfg, s))(s)
            results[name] = C.cached_part(folder, name, {**cfg, "seed": s}, fn, force=args.force)
            seed_results.append(results[name])
    if "summary" in parts:
        results["summary"] = C.cached_part(
            folder,
            "summary",
            {**cfg, "seeds_used": seeds},
            lambda: summarize(cfg, seed_results),
            force=True,
        )
    extra = _extra_md(results["summary"], seed_results) if "summary" in results else ""
    rows = C.write_results(
        folder, PAPER, mode, args.seed, expected, results, extra_md=extra, sizes=cfg
    )
    if seed_results:
        plot(seed_results[0], folder)
    return C.finish(rows, folder)


if __name__ == "__main__":
    sys.exit(main())
