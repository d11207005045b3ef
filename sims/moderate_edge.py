"""The 2 < µ < 4 edge law against sampled λ_max: KS distance and median error against N.

For symmetric Pareto entries (``htrmt.ensembles.pareto``) at several µ and Q, λ_max of
``WᵀW/N`` is sampled densely and compared with ``htrmt.edge.moderate_edge_law`` (largest
entries through the BBP map, merged with the Tracy–Widom bulk edge) and with the bare largest
entry ``max w²/N``; also the observed number of eigenvalues above λ+ against the law's
``outlier_count``.

Writes ``moderate_edge.json`` to ``out/sims/moderate_edge/`` (``--quick``: ``.../quick``).

Usage:
    python -m sims.moderate_edge [--quick | --full] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path

import jax
import numpy as np

import htrmt as ht


def _ks(x, cdf) -> float:
    x = np.sort(np.asarray(x, float))
    n = x.size
    F = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n)))


@functools.partial(jax.jit, static_argnames=("N", "M", "mu"))
def _pareto_batch(keys, *, N, M, mu):
    # A batch of N×M symmetric Pareto matrices and, per matrix, max(W²)/N.
    W = jax.vmap(lambda k: ht.ensembles.pareto(k, (N, M), mu=mu, dtype=jax.numpy.float32))(keys)
    return W, jax.numpy.max(W * W, axis=(-2, -1)) / N


def run_one(key, mu: float, N: int, M: int, num: int, batch: int = 16) -> dict:
    from htrmt.spectra import esd

    law = ht.edge.moderate_edge_law(mu, N, M)
    keys = jax.random.split(key, num)
    lam, mx, above = [], [], []
    for i in range(0, num, batch):
        W, m = _pareto_batch(keys[i : i + batch], N=N, M=M, mu=mu)
        ev = np.asarray(esd(W), float)
        lam.append(ev[..., -1])
        above.append(np.sum(ev > law.lambda_plus * 1.02, axis=-1))
        mx.append(np.asarray(m, float))
    lam_a, mx_a, ab = np.concatenate(lam), np.concatenate(mx), np.concatenate(above)
    med = float(np.median(lam_a))
    return dict(
        mu=mu,
        N=N,
        M=M,
        num=num,
        median_sampled=med,
        median_law=law.median(),
        median_max_entry=float(np.median(mx_a)),
        rel_err_median=law.median() / med - 1,
        ks=_ks(lam_a, law.cdf),
        ks_crit_1e3=float(np.sqrt(-np.log(5e-4) / (2 * num))),
        outliers_observed=float(np.mean(ab)),
        outliers_predicted=law.outlier_count(law.lambda_plus * 1.02),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="N = 200, 400 (seconds)")
    g.add_argument("--full", action="store_true", help="N = 200 ... 3200")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if args.quick:
        Ns, mus, num, Qs = [200, 400], [3.0], 60, [1]
    elif args.full:
        Ns, mus, num, Qs = [200, 400, 800, 1600, 3200], [2.5, 3.0, 3.5], 400, [1, 4]
    else:
        Ns, mus, num, Qs = [200, 400, 800], [2.5, 3.0, 3.5], 300, [1]
    key = jax.random.key(args.seed)
    rows = []
    t0 = time.time()
    for mu in mus:
        for Q in Qs:
            for N in Ns:
                key, sub = jax.random.split(key)
                r = run_one(sub, mu, N, N // Q, num)
                rows.append(r)
                print(json.dumps(r), flush=True)
    name = "quick" if args.quick else ("full" if args.full else "default")
    out = Path(args.out or (Path("out/sims/moderate_edge") / name))
    out.mkdir(parents=True, exist_ok=True)
    (out / "moderate_edge.json").write_text(
        json.dumps(dict(seed=args.seed, mode=name, seconds=time.time() - t0, rows=rows), indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
