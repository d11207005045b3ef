"""Cost of per-layer HT-SR metrics inside a training loop, against one training step.

Two example equinox models (an MLP on 784-dimensional inputs and a small CNN on 32×32×3
images), float32, batch 128. Timed, each compiled once and warm (median of ``--repeats``):

- one SGD training step (forward, backward, update) under ``jax.jit``;
- :func:`htrmt.act.layer_metrics` of the same parameters (``"tempbalance"``: median fit, and
  ``"goodness-of-fit"``: every xmin candidate), one compiled program, same-shape layers vmapped;
- one step of ``optax.chain(sgd, temp_balance(every=1))`` (α recomputed at every step: the worst
  case; with ``every = steps per epoch`` the cost is this divided by the epoch's steps).

The answer is checked first: the in-loop α equals :func:`htrmt.analyze` with the same estimator.

Usage:
    python benchmarks/bench_htsr_inloop.py [--repeats 5] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time  # noqa: E402

import htrmt as ht  # noqa: E402


class CNN(eqx.Module):
    convs: tuple
    fcs: tuple

    def __init__(self, width: int, key):
        k = jax.random.split(key, 6)
        self.convs = (
            eqx.nn.Conv2d(3, width, 3, padding=1, key=k[0]),
            eqx.nn.Conv2d(width, width, 3, padding=1, key=k[1]),
            eqx.nn.Conv2d(width, 2 * width, 3, padding=1, key=k[2]),
            eqx.nn.Conv2d(2 * width, 2 * width, 3, padding=1, key=k[3]),
        )
        self.fcs = (
            eqx.nn.Linear(2 * width * 8 * 8, 256, key=k[4]),
            eqx.nn.Linear(256, 10, key=k[5]),
        )

    def __call__(self, x):
        for j, c in enumerate(self.convs):
            x = jax.nn.relu(c(x))
            if j % 2 == 1:
                x = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2), (1, 2, 2), "VALID")
        x = jax.nn.relu(self.fcs[0](x.reshape(-1)))
        return self.fcs[1](x)


def models(quick: bool):
    key = jax.random.key(0)
    w = 256 if quick else 1024
    mlp = eqx.nn.MLP(784, 10, w, 4, key=key)
    cnn = CNN(16 if quick else 64, jax.random.key(1))
    return {
        f"MLP 784-{w}x4-10": (mlp, jnp.zeros((128, 784))),
        f"CNN {cnn.convs[0].out_channels}ch 32x32": (cnn, jnp.zeros((128, 3, 32, 32))),
    }


def train_step_fn(model, opt):
    def loss(m, x, y):
        logits = jax.vmap(m)(x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @eqx.filter_jit
    def step(m, s, x, y):
        g = eqx.filter_grad(loss)(m, x, y)
        u, s = opt.update(g, s, eqx.filter(m, eqx.is_array))
        return eqx.apply_updates(m, u), s

    return step


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="smaller models, 2 repeats")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    reps = 2 if args.quick else args.repeats
    print(f"backend={jax.default_backend()} device={jax.devices()[0]} dtype=float32 "
          f"jax={jax.__version__} python={platform.python_version()}")  # fmt: skip
    out = []
    for name, (model, x) in models(args.quick).items():
        params = eqx.filter(model, eqx.is_array)
        y = jnp.zeros(x.shape[0], jnp.int32)
        # check: in-loop α == analyze(estimator=) on the same weights
        m = ht.act.layer_metrics(params)
        rep = ht.analyze(model, estimator="tempbalance", fingers=False)
        ref = np.array([r.alpha for r in rep.layers])
        np.testing.assert_allclose(np.asarray(m.alpha), ref, rtol=2e-3)

        base = optax.sgd(0.01, momentum=0.9)
        step = train_step_fn(model, base)
        s0 = base.init(params)
        t_step = median_time(lambda: step(model, s0, x, y), reps, warm=True)
        t_med = median_time(lambda: ht.act.layer_metrics(params), reps, warm=True)
        t_gof = median_time(
            lambda: ht.act.layer_metrics(params, estimator="goodness-of-fit"), reps, warm=True
        )
        tb = optax.chain(base, ht.training.temp_balance(every=1))
        step_tb = train_step_fn(model, tb)
        _, s1 = step_tb(model, tb.init(params), x, y)  # count 1: every call below recomputes α
        t_tb = median_time(lambda: step_tb(model, s1, x, y), reps, warm=True)
        row = dict(
            model=name,
            layers=len(m),
            params=int(sum(m.num_params)),
            train_step_s=t_step,
            metrics_median_s=t_med,
            metrics_gof_s=t_gof,
            temp_balance_step_every1_s=t_tb,
        )
        out.append(row)
        print(
            f"{name}: {row['layers']} layers, {row['params']} weights | train step "
            f"{t_step * 1e3:.2f} ms | layer_metrics median {t_med * 1e3:.2f} ms "
            f"({t_med / t_step:.1f} steps) | goodness-of-fit {t_gof * 1e3:.2f} ms "
            f"({t_gof / t_step:.1f} steps) | step with temp_balance(every=1) "
            f"{t_tb * 1e3:.2f} ms ({t_tb / t_step:.1f}x)"
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"backend": jax.default_backend(), "rows": out}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
