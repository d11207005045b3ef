"""Train the embedded default model of ``htrmt analyze`` on scikit-learn's digits.

The digits data set (1797 8×8 images, 10 classes) ships inside scikit-learn: nothing is
downloaded. The trained weights go to ``htrmt/data/default_model.npz`` (float32, one array per
parameter path; no pickle) with a JSON sidecar ``default_model.json`` (seed, sizes, settings,
test accuracy, versions, git commit).

Usage:
    python tools/train_default_model.py            # the committed model
    python tools/train_default_model.py --quick    # a short run into out/ (CI smoke test)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        ).stdout.strip()
    except Exception:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="output .npz (default: htrmt/data/)")
    ap.add_argument("--quick", action="store_true", help="2 epochs, written to out/")
    args = ap.parse_args(argv)

    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax
    from sklearn.datasets import load_digits

    from htrmt.networks._default import DigitsCNN, leaf_names
    from htrmt.networks._report import write_atomic

    if args.quick:
        args.epochs = 2
    root = Path(__file__).resolve().parent.parent
    out = args.out or (
        root / "out" / "default_model_quick.npz"
        if args.quick
        else root / "htrmt" / "data" / "default_model.npz"
    )

    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int32)
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(len(y))
    n_test = 360
    test, train = perm[:n_test], perm[n_test:]
    Xtr, ytr, Xte, yte = map(jnp.asarray, (X[train], y[train], X[test], y[test]))

    key = jax.random.key(args.seed)
    key, mkey = jax.random.split(key)
    model = DigitsCNN(mkey)
    opt = optax.adam(args.lr)
    opt_state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    def loss_fn(m, xb, yb):
        logits = jax.vmap(m)(xb)
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @eqx.filter_jit
    def step(m, s, xb, yb):
        loss, g = eqx.filter_value_and_grad(loss_fn)(m, xb, yb)
        upd, s = opt.update(g, s, eqx.filter(m, eqx.is_inexact_array))
        return eqx.apply_updates(m, upd), s, loss

    @eqx.filter_jit
    def accuracy(m, xb, yb):
        return jnp.mean(jnp.argmax(jax.vmap(m)(xb), -1) == yb)

    bs = args.batch_size
    nb = len(train) // bs
    for epoch in range(1, args.epochs + 1):
        key, pkey = jax.random.split(key)
        order = jax.random.permutation(pkey, len(train))
        losses = []
        for b in range(nb):
            idx = order[b * bs : (b + 1) * bs]
            model, opt_state, loss = step(model, opt_state, Xtr[idx], ytr[idx])
            losses.append(float(loss))
        if epoch % 10 == 0 or epoch == args.epochs:
            print(
                f"epoch {epoch:3d}  loss {np.mean(losses):.4f}  "
                f"train acc {float(accuracy(model, Xtr, ytr)):.4f}  "
                f"test acc {float(accuracy(model, Xte, yte)):.4f}",
                flush=True,
            )

    arrays = {name: np.asarray(x, dtype=np.float32) for name, x in leaf_names(model)}
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    write_atomic(out, buf.getvalue())
    meta = {
        "model": "DigitsCNN (htrmt.networks._default)",
        "data": "sklearn.datasets.load_digits (1797 images 8x8, shipped with scikit-learn)",
        "split": {"train": int(len(train)), "test": n_test, "seed": args.seed},
        "training": {
            "optimizer": "adam",
            "lr": args.lr,
            "batch_size": bs,
            "epochs": args.epochs,
            "loss": "softmax cross-entropy",
        },
        "train_accuracy": float(accuracy(model, Xtr, ytr)),
        "test_accuracy": float(accuracy(model, Xte, yte)),
        "num_params": int(sum(a.size for a in arrays.values())),
        "dtype": "float32",
        "x64": bool(jax.config.jax_enable_x64),
        "jax": jax.__version__,
        "equinox": eqx.__version__,
        "device": str(jax.devices()[0]),
        "git_commit": _git_commit(),
    }
    write_atomic(out.with_suffix(".json"), json.dumps(meta, indent=2) + "\n")
    print(
        f"wrote {out} ({out.stat().st_size / 1024:.0f} KiB), "
        f"test accuracy {meta['test_accuracy']:.4f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
