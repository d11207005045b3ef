"""Data for the theory figures of the HT-SR talk (slides 4–9): sampled spectra and edge samples.

Each dataset is an ``.npz`` plus a JSON sidecar under ``out/sims/talk_spectra/`` (or
``$HTRMT_OUT``). Figure scripts in ``figures/`` only plot from these files and call
:func:`load` which runs the simulation when a file is missing.

Usage:
    python -m sims.talk_spectra [NAMES] [--quick] [--seed 0]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

DATASETS = (
    "random_vs_spiked",
    "semicircle_edge",
    "mp_densities",
    "classes",
    "phases",
    "tikhonov",
    "trained_layer",
)


def _path(name: str, quick: bool, root=None) -> Path:
    from ._common import out_dir

    return out_dir("talk_spectra", root=root) / f"{name}{'_quick' if quick else ''}.npz"


def _sim_random_vs_spiked(key, quick):
    import htrmt as ht

    N, M = (800, 400) if quick else (2000, 1000)
    k1, k2 = ht_split(key, 2)
    lam_r = ht.esd(ht.ensembles.gaussian(k1, (N, M)))
    strengths = (3.0, 2.0, 1.5, 1.2)
    lam_s = ht.esd(ht.ensembles.low_rank_signal(k2, (N, M), strengths=strengths))
    ent = [float(ht.metrics.entropy(l)) for l in (lam_r, lam_s)]
    return dict(
        lam_random=lam_r, lam_spiked=lam_s, entropy=np.array(ent), strengths=np.array(strengths)
    ), {"N": N, "M": M}


def _sim_semicircle_edge(key, quick):
    import jax
    import jax.numpy as jnp

    import htrmt as ht

    N = 500 if quick else 2000
    num = 2000 if quick else 20000
    k1, k2 = ht_split(key, 2)
    evals = jnp.linalg.eigvalsh(ht.ensembles.wigner(k1, (N, N)))
    lmax = ht.edge.wigner_largest_eigenvalues(k2, num, N, beta=1)
    jax.block_until_ready(lmax)
    return dict(evals=evals, lmax=lmax), {"N": N, "num": num}


def _sim_mp_densities(key, quick):
    import htrmt as ht

    M = 300 if quick else 1000
    Qs = (1.0, 2.0, 4.0, 10.0)
    sigmas = (0.5, 1.0, 1.5)
    keys = ht_split(key, len(Qs) + len(sigmas))
    out = {}
    for i, Q in enumerate(Qs):
        out[f"Q{i}"] = ht.esd(ht.ensembles.gaussian(keys[i], (int(Q * M), M)))
    for j, s in enumerate(sigmas):
        out[f"S{j}"] = ht.esd(ht.ensembles.gaussian(keys[len(Qs) + j], (2 * M, M), sigma=s))
    out["Qs"] = np.array(Qs)
    out["sigmas"] = np.array(sigmas)
    return out, {"M": M}


CLASS_ROWS = (
    ("Gaussian (MP)", "gaussian", None),
    ("spiked", "spiked", None),
    ("weakly HT, µ=5", "pareto", 5.0),
    ("moderately HT, µ=3", "pareto", 3.0),
    ("very HT, µ=1.5", "pareto", 1.5),
)


def _sim_classes(key, quick):
    import htrmt as ht

    N, M = (1000, 500) if quick else (4000, 2000)
    keys = ht_split(key, len(CLASS_ROWS))
    out = {}
    for i, (_, kind, mu) in enumerate(CLASS_ROWS):
        if kind == "gaussian":
            W = ht.ensembles.gaussian(keys[i], (N, M))
        elif kind == "spiked":
            W = ht.ensembles.spiked_covariance(keys[i], (N, M), spikes=(8.0, 4.0, 2.0))
        else:
            W = ht.ensembles.pareto(keys[i], (N, M), mu=mu)
        lam = np.asarray(ht.esd(W))
        out[f"lam{i}"] = lam
        if kind == "pareto":
            # The heavy-tailed (Lévy) density at the same N by cavity population dynamics.
            pos = lam[lam > 0]
            xc = np.geomspace(pos.min(), pos.max(), 40 if quick else 120)
            # quick: a smaller cavity population (a visibly noisier curve, same law)
            small = dict(population=500, runs=2, sweeps=(20, 30)) if quick else {}
            lev = ht.laws.levy.density(xc, mu, N / M, N=N, key=keys[i], **small)
            out[f"levy_x{i}"] = xc
            out[f"levy_pdf{i}"] = np.asarray(lev.pdf)
    return out, {"N": N, "M": M}


def _sim_phases(key, quick):
    import htrmt as ht

    N, M = (1000, 500) if quick else (2000, 1000)
    phases = ht.phases.PHASES
    keys = ht_split(key, len(phases))
    out = {"phases": np.array(phases)}
    for i, ph in enumerate(phases):
        out[f"lam{i}"] = ht.esd(ht.ensembles.phase_example(keys[i], ph, (N, M)))
    return out, {"N": N, "M": M}


def random_orthonormal(key, n: int, k: int, dtype):
    """``k`` Haar-random orthonormal columns in R^n (QR of a Gaussian, signs fixed)."""
    import jax
    import jax.numpy as jnp

    q, r = jnp.linalg.qr(jax.random.normal(key, (n, k), dtype))
    d = jnp.sign(jnp.diagonal(r))
    return q * jnp.where(d == 0, 1.0, d).astype(dtype)[None, :]


def _sim_tikhonov(key, quick):
    import jax
    import jax.numpy as jnp

    # Ridge regression y = W x*/√N + noise, W = G + √N Σ S_i u_i v_iᵀ, with the teacher x* in the
    # span of the signal directions v_i: the eigen-directions of X = WᵀW/N above the Tikhonov α
    # (the spikes) carry the signal, the MP bulk below is damped.
    N, M = (800, 400) if quick else (2000, 1000)
    S = jnp.array([3.0, 2.0, 1.6])
    k1, k2, k3, k4 = ht_split(key, 4)
    u = random_orthonormal(k2, N, 3, jnp.float64)
    v = random_orthonormal(k3, M, 3, jnp.float64)
    W = jax.random.normal(k1, (N, M)) + math.sqrt(N) * (u * S) @ v.T
    X = W.T @ W / N
    lam, V = jnp.linalg.eigh(X)
    xstar = v @ jnp.ones(3)
    y = W @ xstar / math.sqrt(N) + 0.2 * jax.random.normal(k4, (N,))
    b = V.T @ (W.T @ y / math.sqrt(N))  # Wᵀy in the eigenbasis of X
    overlap = (V.T @ xstar) ** 2  # where the teacher lives in the eigenbasis
    return dict(lam=lam, b=b, overlap=overlap, strengths=S), {"N": N, "M": M}


def _sim_trained_layer(key, quick):
    import jax.numpy as jnp

    import htrmt as ht

    # The largest dense layer of the embedded default model (trained on scikit-learn's digits),
    # against the same weights with their entries randomly permuted (the "rand" control).
    ext = ht.networks.extract(ht.networks.default_model())
    layer = max(
        (l for l in ext.layers if l.matrices.shape[0] == 1),
        key=lambda l: l.matrices.shape[1] * l.matrices.shape[2],
    )
    W = jnp.asarray(layer.matrices[0], jnp.float64)
    lam = ht.esd(W)
    lam_rand = ht.esd(ht.metrics.permute_entries(key, W))
    return dict(lam=lam, lam_rand=lam_rand, name=np.array(layer.name), shape=np.array(W.shape)), {
        "layer": layer.name,
        "shape": list(W.shape),
    }


SIMS = {
    "random_vs_spiked": _sim_random_vs_spiked,
    "semicircle_edge": _sim_semicircle_edge,
    "mp_densities": _sim_mp_densities,
    "classes": _sim_classes,
    "phases": _sim_phases,
    "tikhonov": _sim_tikhonov,
    "trained_layer": _sim_trained_layer,
}


def ht_split(key, n):
    import jax

    return list(jax.random.split(key, n))


def simulate(name: str, *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """Run one dataset's simulation and write ``<name>.npz`` + ``<name>.json``."""
    import jax

    jax.config.update("jax_enable_x64", True)
    from ._common import save_arrays, write_sidecar

    if name not in SIMS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    key = jax.random.fold_in(jax.random.key(seed), DATASETS.index(name))
    arrays, sizes = SIMS[name](key, quick)
    path = _path(name, quick, root)
    save_arrays(path, **{k: np.asarray(v) for k, v in arrays.items()})
    write_sidecar(
        path.with_suffix(".json"),
        seed=seed,
        sizes=sizes,
        dataset=name,
        quick=quick,
        script="sims/talk_spectra.py",
    )
    return path


def data_path(name: str, *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """The ``.npz`` file of a dataset (its JSON sidecar sits next to it)."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return _path(name, quick, root)


def load(name: str, *, quick: bool = False, seed: int = 0, root=None) -> dict:
    """The arrays of a dataset (read only: if missing, ``FileNotFoundError`` naming the command)."""
    from ._common import read_arrays

    return read_arrays(
        data_path(name, quick=quick, seed=seed, root=root),
        f"python -m sims.talk_spectra {name}{' --quick' if quick else ''} --seed {seed}",
    )


def main(argv=None) -> int:
    from ._common import datasets_main

    return datasets_main(argv, "Simulate the data of the talk figures.", DATASETS, simulate)


if __name__ == "__main__":
    sys.exit(main())
