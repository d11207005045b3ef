"""The 2 < µ < 4 edge law against sampled λ_max: conditional and marginal errors against N.

For symmetric Pareto entries (``htrmt.ensembles.pareto``) at several µ, N and Q, λ_max of
``WᵀW/N`` is sampled and compared with ``htrmt.edge.moderate_edge_law`` in two ways:

- **conditional**: each matrix's own largest entry through the law's map,
  ``law.from_entry(max|w|)``, against that matrix's λ_max. The median relative error is the
  law's systematic error at this size and the median absolute deviation its spread; both
  should shrink with N. Reported for both bulk choices (``bulk="full"``, the default, and
  ``"truncated"``).
- **marginal**: the KS distance between the sampled λ_max and ``law.cdf``, with the critical
  value at false-failure rate 1e-3 for the sample size (the sampling floor), and the sampled and
  predicted medians.

Also the observed mean number of eigenvalues above ``1.02·λ+`` (``λ+ = σ²(1 + √c)²``) against
``law.outlier_count`` (only where the whole spectrum is computed, M <= 1000) and the median of
the bare largest entry ``max w²/N``.

Each point is written as it finishes (``points/mu{µ}_Q{Q}_N{N}.npz``: the sampled λ_max and
max|w| of every matrix) and a rerun skips finished points (each point's key is folded from the
seed and the point, so a resumed run equals an uninterrupted one). ``moderate_edge.json``
summarises every finished point.

Usage:
    python -m sims.moderate_edge [--quick | --full] [--seed 0] [--out DIR]

``--quick``: µ = 3, N = 200, 400 (seconds); default: µ = 2.5, 3, 3.5, N = 200 ... 1600, Q = 1
(minutes); ``--full``: N = 200 ... 3200 and Q = 1, 4 (about an hour on 2 cores).
"""

from __future__ import annotations

import argparse
import functools
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.sparse.linalg

import htrmt as ht

from .outputs import dump_json, out_dir, save_arrays


def _ks(x, cdf) -> float:
    x = np.sort(np.asarray(x, float))
    n = x.size
    F = cdf(x)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n)))


@functools.partial(jax.jit, static_argnames=("N", "M", "mu"))
def _pareto_batch(keys, *, N, M, mu):
    # A batch of N×M symmetric Pareto matrices and, per matrix, its largest |entry|.
    W = jax.vmap(lambda k: ht.ensembles.pareto(k, (N, M), mu=mu, dtype=jnp.float32))(keys)
    return W, jnp.max(jnp.abs(W), axis=(-2, -1))


def _top(W: np.ndarray, above: float) -> tuple[float, float]:
    """(λ_max, number of eigenvalues above ``above``; NaN when only the top is computed)."""
    N, M = W.shape
    if M <= 1000:
        ev = scipy.linalg.eigvalsh(W.T @ W / N, check_finite=False)
        return float(ev[-1]), float(np.sum(ev > above))
    op = scipy.sparse.linalg.LinearOperator(
        (M, M), matvec=lambda v: W.T @ (W @ v) / N, dtype=np.float64
    )
    v0 = np.ones(M) / math.sqrt(M)
    ev = scipy.sparse.linalg.eigsh(op, k=2, which="LA", tol=1e-10, v0=v0, return_eigenvectors=False)
    return float(np.max(ev)), math.nan


def sample_point(key, mu: float, N: int, M: int, num: int, batch: int = 8) -> dict:
    """λ_max, max|w| and the count above 1.02·λ+ of ``num`` sampled matrices."""
    law = ht.edge.moderate_edge_law(mu, N, M)  # for λ+ only
    keys = jax.random.split(key, num)
    lam, wmax, count = [], [], []
    for i in range(0, num, batch):
        W, w = _pareto_batch(keys[i : i + batch], N=N, M=M, mu=mu)
        for Wi in np.asarray(W, np.float64):
            lmax, cnt = _top(Wi, 1.02 * law.lambda_plus)
            lam.append(lmax)
            count.append(cnt)
        wmax.append(np.asarray(w, np.float64))
    return dict(lam=np.array(lam), wmax=np.concatenate(wmax), count=np.array(count))


def summarise(mu: float, N: int, M: int, lam, wmax, count) -> dict:
    """The row of one point: conditional and marginal errors of both bulk choices."""
    lam, wmax, count = (np.asarray(a, float) for a in (lam, wmax, count))
    num = lam.size
    row: dict = dict(mu=mu, N=N, M=M, Q=N / M, num=num)
    laws = {b: ht.edge.moderate_edge_law(mu, N, M, bulk=b) for b in ("truncated", "full")}
    for bulk, law in laws.items():
        r = law.from_entry(wmax) / lam - 1
        med = float(np.median(r))
        row[bulk] = dict(
            cond_median=med,
            cond_mad=float(np.median(np.abs(r - med))),
            cond_median_se=float(1.2533 * np.std(r) / math.sqrt(num)),
            ks=_ks(lam, law.cdf),
            median_law=law.median(),
            rel_err_median=law.median() / float(np.median(lam)) - 1,
            bulk_variance=law.bulk_variance,
        )
    above = 1.02 * laws["full"].lambda_plus
    row.update(
        median_sampled=float(np.median(lam)),
        median_max_entry=float(np.median(wmax**2 / N)),
        ks_crit_1e3=float(np.sqrt(-np.log(5e-4) / (2 * num))),
        outliers_observed=float(np.mean(count)) if np.all(np.isfinite(count)) else None,
        outliers_predicted=laws["full"].outlier_count(above),
        outliers_predicted_truncated=laws["truncated"].outlier_count(above),
    )
    return row


def grid(mode: str) -> tuple[list[float], list[int], list[int], int]:
    """(µ values, Q values, N values, matrices per point) of a mode."""
    if mode == "quick":
        return [3.0], [1], [200, 400], 60
    if mode == "full":
        return [2.5, 3.0, 3.5], [1, 4], [200, 400, 800, 1600, 3200], 400
    return [2.5, 3.0, 3.5], [1], [200, 400, 800, 1600], 300


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_true", help="µ = 3, N = 200, 400 (seconds)")
    g.add_argument("--full", action="store_true", help="N = 200 ... 3200, Q = 1, 4 (an hour)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out", default=None, help="output folder (default out/sims/moderate_edge/MODE)"
    )
    args = p.parse_args(argv)
    mode = "quick" if args.quick else ("full" if args.full else "default")
    out = Path(args.out) if args.out else out_dir("sims", "moderate_edge", mode)
    (out / "points").mkdir(parents=True, exist_ok=True)
    mus, Qs, Ns, num = grid(mode)
    base = jax.random.key(args.seed)
    rows = []
    t0 = time.time()
    for mu in mus:
        for Q in Qs:
            for N in Ns:
                M = N // Q
                path = out / "points" / f"mu{mu:g}_Q{Q}_N{N}.npz"
                if path.exists():
                    with np.load(path, allow_pickle=False) as z:
                        data = {k: z[k] for k in z.files}
                    seed = int(data.pop("seed", -1))
                    if data["lam"].size != num or seed != args.seed:
                        raise ValueError(
                            f"{path} holds {data['lam'].size} matrices of seed {seed}, this run "
                            f"{num} of seed {args.seed}: use another --out"
                        )
                else:
                    key = jax.random.fold_in(jax.random.fold_in(base, int(100 * mu)), N * 8 + Q)
                    data = sample_point(key, mu, N, M, num)
                    save_arrays(path, seed=args.seed, **data)
                row = summarise(mu, N, M, **data)
                rows.append(row)
                fu = row["full"]
                print(
                    f"mu={mu:g} Q={Q} N={N}: conditional median {fu['cond_median']:+.4f} "
                    f"(mad {fu['cond_mad']:.4f}), KS {fu['ks']:.3f} (crit "
                    f"{row['ks_crit_1e3']:.3f}) [{time.time() - t0:.0f} s]",
                    flush=True,
                )
    dump_json(
        out / "moderate_edge.json",
        dict(seed=args.seed, mode=mode, seconds=time.time() - t0, rows=rows),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
