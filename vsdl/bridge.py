"""The bridge to deep networks: where does a trained network fall on the VSDL axes?

A small equinox MLP (``d → h → h → 1``) learns a teacher perceptron's labels (``y = sign(t·x)``,
``x ~ N(0, I_d)``) by minibatch SGD on the logistic loss, on a grid of

- effective **load** ``α_eff = P_eff / d``: P training examples, optionally with Gaussian input
  noise of standard deviation ``σ`` which lowers the load to ``P_eff = P / (1 + σ²)`` (the
  signal-to-noise fraction of each example; a convention, stated as such);
- effective **temperature** ``τ_eff = lr · P / B`` (the SGD noise scale of Smith & Le 2018) set by
  the batch size B at fixed learning rate and number of steps.

For each run it records the test error on fresh teacher-labelled inputs, the training error,
their gap, and the ESD phase (``htrmt.phases.classify``) of each hidden weight matrix. Data out
as ``bridge.npz`` + ``bridge.json`` (seed, sizes, versions, device, git commit); ``--plot``
draws the test error on the (α_eff, τ_eff) plane with each run's layer phases, next to the
theory's ε(α) of Gibbs learning.

Usage::

    python -m vsdl.bridge [--quick] [--out out/vsdl/bridge]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main", "train_one"]


def _mlp(key, d: int, h: int):
    import equinox as eqx
    import jax

    return eqx.nn.MLP(d, 1, width_size=h, depth=2, activation=jax.nn.relu, key=key)


def train_one(
    key, *, d: int, h: int, P: int, B: int, steps: int, lr: float, noise: float, n_test: int = 4096
):
    """Train one student; returns test error, train error and the hidden weight matrices."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    k_t, k_x, k_n, k_m, k_s, k_test = jax.random.split(key, 6)
    t = jax.random.normal(k_t, (d,))
    X = jax.random.normal(k_x, (P, d))
    y = jnp.sign(X @ t)
    Xn = X + noise * jax.random.normal(k_n, (P, d))  # noisy inputs, clean teacher labels
    Xt = jax.random.normal(k_test, (n_test, d))
    yt = jnp.sign(Xt @ t)
    model = _mlp(k_m, d, h)
    params, static = eqx.partition(model, eqx.is_array)

    def loss(p, xb, yb):
        m = eqx.combine(p, static)
        z = jax.vmap(m)(xb)[:, 0]
        return jnp.mean(jax.nn.softplus(-yb * z))

    @jax.jit
    def run(params, key):
        def step(p, k):
            idx = jax.random.randint(k, (B,), 0, P)
            g = jax.grad(loss)(p, Xn[idx], y[idx])
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g), None

        params, _ = jax.lax.scan(step, params, jax.random.split(key, steps))
        return params

    params = run(params, k_s)
    m = eqx.combine(params, static)

    def err(Xe, ye):
        return float(jnp.mean(jnp.sign(jax.vmap(m)(Xe)[:, 0]) != ye))

    Ws = [np.asarray(layer.weight) for layer in m.layers[:-1]]
    return err(Xt, yt), err(Xn, y), Ws


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="VSDL bridge: a small network on the (α, τ) axes")
    ap.add_argument("--out", default="out/vsdl/bridge")
    ap.add_argument("--quick", action="store_true", help="tiny grid for a smoke test")
    ap.add_argument("--d", type=int, default=64, help="input dimension (teacher size)")
    ap.add_argument("--h", type=int, default=256, help="hidden width")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--noise", type=float, default=0.0, help="input noise σ (lowers the load)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", action="store_true", help="also draw bridge.png")
    args = ap.parse_args(argv)

    import jax

    import htrmt as ht
    from htrmt.sweep import environment

    from ._saved import _write_json_atomic as atomic_write_json

    loads = [0.5, 2.0, 8.0, 32.0]
    batches = [2, 8, 32, 128]
    d, h, steps = args.d, args.h, args.steps
    if args.quick:
        loads, batches, d, h, steps = [1.0, 8.0], [4, 64], 16, 32, 200
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    key = jax.random.key(args.seed)
    shape = (len(batches), len(loads))
    test = np.zeros(shape)
    train = np.zeros(shape)
    tau_eff = np.zeros(shape)
    alpha_eff = np.zeros(shape)
    phases: list[list[list[str]]] = []
    t0 = time.perf_counter()
    for i, B in enumerate(batches):
        row = []
        for j, a in enumerate(loads):
            P = int(round(a * d))
            k = jax.random.fold_in(key, i * 1000 + j)
            e_test, e_train, Ws = train_one(
                k, d=d, h=h, P=P, B=min(B, P), steps=steps, lr=args.lr, noise=args.noise
            )
            test[i, j], train[i, j] = e_test, e_train
            alpha_eff[i, j] = P / (1.0 + args.noise**2) / d
            tau_eff[i, j] = args.lr * P / min(B, P)
            layer_phases = []
            for W in Ws:
                W = W if W.shape[0] >= W.shape[1] else W.T
                lam = ht.esd(jax.numpy.asarray(W))
                layer_phases.append(ht.phases.classify(lam, W.shape[0] / W.shape[1]).phase)
            row.append(layer_phases)
            print(
                f"B={B:4d} α_eff={alpha_eff[i, j]:6.2f} τ_eff={tau_eff[i, j]:8.3f} "
                f"test {e_test:.3f} train {e_train:.3f} phases {layer_phases}",
                flush=True,
            )
        phases.append(row)
    np.savez(
        out / "bridge.npz",
        test_error=test,
        train_error=train,
        alpha_eff=alpha_eff,
        tau_eff=tau_eff,
        loads=np.asarray(loads),
        batches=np.asarray(batches),
    )
    atomic_write_json(
        out / "bridge.json",
        {
            "seed": args.seed,
            "d": d,
            "h": h,
            "steps": steps,
            "lr": args.lr,
            "noise": args.noise,
            "loads": loads,
            "batches": batches,
            "phases": phases,
            "quick": bool(args.quick),
            "x64": bool(jax.config.read("jax_enable_x64")),
            "seconds": time.perf_counter() - t0,
            "environment": environment(),
            "definitions": {
                "alpha_eff": "P / (1 + noise^2) / d",
                "tau_eff": "lr * P / B (SGD noise scale, Smith & Le 2018)",
            },
        },
    )
    if args.plot:
        plot(out)
    return 0


def plot(out) -> Path:
    """Draw ``bridge.png`` from ``bridge.npz`` / ``bridge.json`` in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from . import theory as th

    out = Path(out)
    z = np.load(out / "bridge.npz")
    meta = json.loads((out / "bridge.json").read_text())
    test, train = z["test_error"], z["train_error"]
    A, T = z["alpha_eff"], z["tau_eff"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 5.0), constrained_layout=True)
    sc = ax1.scatter(
        A.ravel(), T.ravel(), c=test.ravel(), s=500, cmap="viridis", vmin=0, vmax=0.5, marker="s"
    )
    short = {
        "random-like": "RL",
        "bleeding-out": "BO",
        "bulk+spikes": "BS",
        "bulk-decay": "BD",
        "heavy-tailed": "HT",
        "rank-collapse": "RC",
    }
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            ph = "/".join(short.get(p, p) for p in meta["phases"][i][j])
            ax1.annotate(
                f"{ph}\ngap {test[i, j] - train[i, j]:.2f}",
                (A[i, j], T[i, j]),
                textcoords="offset points",
                xytext=(0, 17),
                ha="center",
                fontsize=7,
            )
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("effective load α_eff = P / d")
    ax1.set_ylabel("effective temperature τ_eff = lr · P / B")
    ax1.set_title(
        "trained MLP: test error (colour), ESD phase of hidden layers 1/2, gap", fontsize=9
    )
    fig.colorbar(sc, ax=ax1, label="test error")
    a = np.geomspace(0.3, 60, 200)
    for theory, ls in (("quenched", "-"), ("annealed", "--")):
        ax2.plot(
            a,
            th.generalization_error(a, 0.0, model="spherical", theory=theory),
            "k",
            ls=ls,
            label=f"spherical perceptron, Gibbs learning τ = 0 ({theory})",
        )
    for i, B in enumerate(meta["batches"]):
        ax2.plot(A[i], test[i], "o-", label=f"MLP, batch {B} (test)")
    ax2.set_xscale("log")
    ax2.set_xlabel("load α (α_eff for the MLP)")
    ax2.set_ylabel("generalization error")
    ax2.set_title("measured test error against the perceptron theory", fontsize=9)
    ax2.legend(fontsize=7)
    path = out / "bridge.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


if __name__ == "__main__":
    sys.exit(main())
