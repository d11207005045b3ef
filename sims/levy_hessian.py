"""Data for the Lévy-density and Hessian-spectrum figures.

Datasets (``.npz`` + JSON sidecar under ``out/sims/levy_hessian/``, or ``$HTRMT_OUT``):

- ``levy``: sampled ESDs of ``X = WᵀW/N`` with symmetric Pareto entries (several µ, Q = 2) and of
    Pareto
  Wigner matrices, with the cavity (population dynamics) densities at the same N and their error
  estimates;
- ``hessian``: a small MLP trained on scikit-learn's digits; stochastic Lanczos quadrature of its
    loss
  Hessian and Gauss–Newton matrix (at initialisation and after training) and its top Hessian
  eigenvalues.

Usage:
    python -m sims.levy_hessian [levy] [hessian] [--quick] [--seed 0]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

DATASETS = ("levy", "hessian")
WISHART_MUS = (0.5, 1.0, 1.5, 3.0)
WIGNER_MU = 1.0


def _path(name: str, quick: bool, seed: int, root=None) -> Path:
    from ._common import out_dir

    return out_dir("levy_hessian", root=root) / f"{name}_s{seed}{'_quick' if quick else ''}.npz"


def _sim_levy(key, quick):
    import jax

    import htrmt as ht

    N, Q, reps = (500, 2.0, 2) if quick else (1000, 2.0, 4)
    npts = 20 if quick else 56
    settings = (
        dict(population=500, runs=2, sweeps=(20, 30)) if quick else dict(population=1000, runs=4)
    )
    out, sizes = {}, {"N": N, "Q": Q, "matrices_per_mu": reps, "grid_points": npts, **settings}
    keys = jax.random.split(key, len(WISHART_MUS) + 1)
    for i, mu in enumerate(WISHART_MUS):
        ks = jax.random.split(keys[i], reps)
        lam = np.concatenate(
            [np.asarray(ht.esd(ht.ensembles.pareto(k, (N, int(N // Q)), mu=mu))) for k in ks]
        )
        grid = np.geomspace(np.quantile(lam, 0.002), lam.max() * 2, npts)
        d = ht.laws.levy.density(grid, mu, Q, N=N, key=jax.random.fold_in(keys[i], 7), **settings)
        out.update({f"lam{i}": lam, f"grid{i}": grid, f"pdf{i}": d.pdf, f"err{i}": d.error})
    s = N ** (0.5 - 1 / WIGNER_MU)
    ks = jax.random.split(keys[-1], reps)
    ev = np.concatenate(
        [
            np.linalg.eigvalsh(
                np.asarray(ht.ensembles.wigner(k, (N, N), entries="pareto", mu=WIGNER_MU))
            )
            * s
            for k in ks
        ]
    )
    grid = np.geomspace(0.05, np.abs(ev).max() * 2, npts)
    d = ht.laws.levy.density(
        grid, WIGNER_MU, N=N, kind="wigner", key=jax.random.fold_in(keys[-1], 7), **settings
    )
    dl = ht.laws.levy.density(
        grid, WIGNER_MU, N=None, kind="wigner", key=jax.random.fold_in(keys[-1], 8), **settings
    )
    out.update(
        wig_ev=ev,
        wig_grid=grid,
        wig_pdf=d.pdf,
        wig_err=d.error,
        wig_lim=dl.pdf,
        mus=np.array(WISHART_MUS),
        wig_mu=np.array(WIGNER_MU),
    )
    return out, sizes


def _train_mlp(key, steps, width):
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = jnp.asarray(X / 16.0, jnp.float32)
    y = jnp.asarray(y)
    n_train = 1500
    Xtr, ytr, Xte, yte = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    model = eqx.nn.MLP(64, 10, width, 2, activation=jnp.tanh, key=key, dtype=jnp.float32)

    def xent(m, X, y):
        logits = jax.vmap(m)(X)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    opt = optax.adam(3e-3)
    state = opt.init(eqx.filter(model, eqx.is_inexact_array))

    @eqx.filter_jit
    def step(m, s):
        g = eqx.filter_grad(xent)(m, Xtr, ytr)
        u, s = opt.update(g, s, m)
        return eqx.apply_updates(m, u), s

    init = model
    for _ in range(steps):
        model, state = step(model, state)
    acc = float(jnp.mean(jnp.argmax(jax.vmap(model)(Xte), -1) == yte))
    return init, model, (Xtr, ytr), xent, acc


def _sim_hessian(key, quick):
    import jax
    import jax.numpy as jnp

    import htrmt as ht

    steps, width = (150, 24) if quick else (400, 32)
    num_steps, num_probes = (40, 3) if quick else (100, 10)
    k_model, k_slq, k_top = jax.random.split(key, 3)
    init, model, (X, y), xent, acc = _train_mlp(k_model, steps, width)

    def loss(m):
        return xent(m, X, y)

    out = {}
    for tag, m in (("init", init), ("trained", model)):
        op = ht.hessian.hessian_operator(loss, m)
        gn = ht.hessian.gauss_newton_operator(
            lambda mm: jax.vmap(mm)(X),
            lambda o: -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(o), y[:, None], 1)),
            m,
        )
        qh = ht.hessian.slq(k_slq, op, num_steps=num_steps, num_probes=num_probes)
        qg = ht.hessian.slq(k_slq, gn, num_steps=num_steps, num_probes=num_probes)
        top = ht.hessian.top_eigenvalues(k_top, op, 12, num_steps=min(op.dim, 120), tol=1e-3)
        out.update(
            {
                f"{tag}_h_nodes": qh.nodes,
                f"{tag}_h_weights": qh.weights,
                f"{tag}_gn_nodes": qg.nodes,
                f"{tag}_gn_weights": qg.weights,
                f"{tag}_top": top.eigenvalues,
                f"{tag}_loss": np.array(float(loss(m))),
            }
        )
    out["test_accuracy"] = np.array(acc)
    sizes = {
        "train_steps": steps,
        "width": width,
        "depth": 2,
        "num_params": int(op.dim),
        "lanczos_steps": num_steps,
        "probes": num_probes,
        "n_train": int(X.shape[0]),
    }
    return out, sizes


def simulate(name: str, *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """Run one dataset and write ``<name>_s<seed>[_quick].npz`` and its ``.json`` sidecar."""
    import jax

    from ._common import save_arrays, set_threads, write_sidecar

    set_threads(1)
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    jax.config.update("jax_enable_x64", True)  # µ = 0.5 spectra span 10+ decades
    key = jax.random.fold_in(jax.random.key(seed), DATASETS.index(name))
    t0 = time.perf_counter()
    with jax.numpy_dtype_promotion("standard"):
        arrays, sizes = (_sim_levy if name == "levy" else _sim_hessian)(key, quick)
    path = _path(name, quick, seed, root)
    save_arrays(path, **arrays)
    write_sidecar(
        path.with_suffix(".json"),
        seed=seed,
        sizes=sizes,
        dataset=name,
        quick=quick,
        script="sims/levy_hessian.py",
        seconds=round(time.perf_counter() - t0, 1),
    )
    return path


def data_path(name: str, *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """The ``.npz`` file of a dataset (its JSON sidecar sits next to it)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return _path(name, quick, seed, root)


def load(name: str, *, quick: bool = False, seed: int = 0, root=None) -> dict:
    """The arrays of a dataset (read only: if missing, ``FileNotFoundError`` naming the command)."""
    from ._common import read_arrays

    return read_arrays(
        data_path(name, quick=quick, seed=seed, root=root),
        f"python -m sims.levy_hessian {name}{' --quick' if quick else ''} --seed {seed}",
    )


def main(argv=None) -> int:
    from ._common import datasets_main

    return datasets_main(
        argv, "Simulate the data of the Lévy and Hessian figures.", DATASETS, simulate
    )


if __name__ == "__main__":
    sys.exit(main())
