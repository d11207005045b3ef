"""Edge study: Tracy–Widom fluctuations, edge crispness, and the Fréchet edge of heavy tails.

Three experiments on λ_max of ``X = WᵀW/N``:

1. Gaussian W, β = 1 and 2, Q = 2, several M: λ_max from the tridiagonal sampler,
   standardised with the first-order (Johnstone / Johansson) and second-order (Ma for β = 1,
   El Karoui for β = 2) centring and scaling; KS distance to TW_β.
2. Edge crispness: ``|E λ_max − λ+|`` against M at Q = 2 (slope −2/3 expected in log–log).
3. Heavy tails: symmetric Pareto entries, Q = 1, several µ < 4 and one µ > 4: median λ_max against
   N (slope ``4/µ − 1`` expected for µ < 4, 0 for µ > 4), with the Fréchet prediction.

Writes ``edge_study.npz`` and ``edge_study.json`` (seed, sizes, x64, versions, device, git
commit, fitted exponents, KS distances) to ``out/sims/edge_study/`` (``--quick``:
``out/sims/edge_study/quick/``); the figure script
``figures/fig_edge_statistics.py`` plots from them.

Usage:
    python -m sims.edge_study [--quick] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

import htrmt as ht


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip()
    except Exception:  # noqa: BLE001 - metadata only
        return None


def _tw_cdf():
    tw = getattr(ht.laws, "tracy_widom", None)
    return None if tw is None else (lambda s, beta: np.asarray(tw.cdf(np.asarray(s), beta=beta)))


def _ks(z: np.ndarray, cdf) -> float:
    z = np.sort(z)
    n = z.size
    F = cdf(z)
    return float(max(np.max(np.arange(1, n + 1) / n - F), np.max(F - np.arange(n) / n)))


def _slope(x, y):
    A = np.vstack([np.log(x), np.ones(len(x))]).T
    coef, *_ = np.linalg.lstsq(A, np.log(y), rcond=None)
    return float(coef[0]), float(coef[1])


def default_out(quick: bool, root=None) -> str:
    """Where the study writes by default (the quick data set apart from the full one)."""
    from .outputs import out_root

    base = out_root(root) / "sims" / "edge_study"
    return str(base / "quick" if quick else base)


def data_path(name: str = "edge_study", *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """The data file of the study (its default output folder; one data set, ``name`` ignored)."""
    return Path(default_out(quick, root)) / "edge_study.npz"


def simulate(name: str = "edge_study", *, quick: bool = False, seed: int = 0, root=None) -> Path:
    """Run the study into its default output folder; returns :func:`data_path`."""
    path = data_path(name, quick=quick, seed=seed, root=root)
    main(["--out", str(path.parent), "--seed", str(seed)] + (["--quick"] if quick else []))
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes (about a minute)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--out",
        default=None,
        help="output folder (default out/sims/edge_study, or out/sims/edge_study/quick)",
    )
    args = p.parse_args(argv)
    jax.config.update("jax_enable_x64", True)  # the script's choice, recorded in its sidecar

    quick = args.quick
    Q = 2
    tw_Ms = [20, 200] if quick else [20, 200, 2000, 20000]
    tw_num = 4000 if quick else 20000
    crisp_Ms = [100, 400, 1600] if quick else [100, 316, 1000, 3162, 10000, 31623, 100000]
    crisp_num = 600 if quick else 4000
    mus = [1.0, 2.0, 3.0, 6.0] if quick else [1.0, 1.5, 2.0, 3.0, 6.0]
    ht_Ns = [32, 64, 128] if quick else [50, 100, 200, 400]
    ht_num = 40 if quick else 200

    key = jax.random.key(args.seed)
    kt, kc, kh = jax.random.split(key, 3)
    cdf = _tw_cdf()
    data: dict[str, np.ndarray] = {}
    meta: dict = {"tw": {}, "crispness": {}, "frechet": {}}
    t0 = time.time()

    # 1. Tracy–Widom fluctuations
    second = {1: "ma", 2: "el_karoui"}
    for beta in (1, 2):
        for i, M in enumerate(tw_Ms):
            N = Q * M
            lam = np.asarray(
                ht.edge.largest_eigenvalues(
                    jax.random.fold_in(kt, 10 * beta + i), tw_num, N, M, beta=beta
                )
            )
            for kind in ("johnstone", second[beta]):
                z = np.asarray(ht.edge.tw_standardize(lam, N, M, beta=beta, kind=kind))
                data[f"tw_b{beta}_M{M}_{kind}"] = z
                ks = None if cdf is None else _ks(z, lambda s, b=beta: cdf(s, b))
                meta["tw"][f"b{beta}_M{M}_{kind}"] = {
                    "N": N,
                    "M": M,
                    "beta": beta,
                    "kind": kind,
                    "num": tw_num,
                    "ks": ks,
                    "mean": float(z.mean()),
                    "var": float(z.var()),
                }
            print(f"[tw] beta={beta} M={M} done ({time.time() - t0:.0f}s)", flush=True)

    # 2. Edge crispness
    lp = (1 + Q**-0.5) ** 2
    means, sems = [], []
    for i, M in enumerate(crisp_Ms):
        lam = np.asarray(
            ht.edge.largest_eigenvalues(jax.random.fold_in(kc, i), crisp_num, Q * M, M)
        )
        means.append(lam.mean())
        sems.append(lam.std(ddof=1) / np.sqrt(lam.size))
    means, sems = np.array(means), np.array(sems)
    gap = np.abs(means - lp)
    slope, icpt = _slope(crisp_Ms, gap)
    data.update(crisp_M=np.array(crisp_Ms), crisp_mean=means, crisp_sem=sems)
    meta["crispness"] = {
        "Q": Q,
        "num": crisp_num,
        "lambda_plus": lp,
        "slope": slope,
        "intercept": icpt,
        "expected_slope": -2 / 3,
    }
    print(f"[crisp] slope={slope:.4f} (expected -0.6667) ({time.time() - t0:.0f}s)", flush=True)

    # 3. Heavy-tailed edge
    for j, mu in enumerate(mus):
        med, pred = [], []
        for i, N in enumerate(ht_Ns):
            lam = np.asarray(
                ht.edge.pareto_largest_eigenvalues(
                    jax.random.fold_in(kh, 100 * j + i), ht_num, N, N, mu=mu
                )
            )
            data[f"ht_mu{mu}_N{N}"] = lam
            med.append(np.median(lam))
            pred.append(ht.edge.frechet_law(mu, N, N).median())
        s, c = _slope(ht_Ns, med)
        reg = ht.edge.edge_regime(mu, ht_Ns[-1], ht_Ns[-1])
        data[f"ht_mu{mu}_median"] = np.array(med)
        data[f"ht_mu{mu}_frechet_median"] = np.array(pred)
        meta["frechet"][str(mu)] = {
            "mu": mu,
            "Ns": ht_Ns,
            "num": ht_num,
            "slope": s,
            "intercept": c,
            "expected_slope": reg.exponent,
            "regime": reg.regime,
        }
        print(f"[frechet] mu={mu} slope={s:.3f} (expected {reg.exponent:.3f})", flush=True)
    data["ht_N"] = np.array(ht_Ns)

    out = Path(args.out or default_out(quick))
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "edge_study.npz", **data)
    meta.update(
        seed=args.seed,
        quick=quick,
        Q=Q,
        tw_Ms=tw_Ms,
        tw_num=tw_num,
        crisp_Ms=crisp_Ms,
        mus=mus,
        ht_Ns=ht_Ns,
        x64=bool(jax.config.jax_enable_x64),
        jax_version=jax.__version__,
        numpy_version=np.__version__,
        python=platform.python_version(),
        device=str(jax.devices()[0]),
        platform=platform.platform(),
        git_commit=_git_commit(),
        tw_cdf="htrmt.laws.tracy_widom" if cdf is not None else None,
        seconds=time.time() - t0,
        argv=sys.argv if argv is None else argv,
        xla_flags=os.environ.get("XLA_FLAGS"),
    )
    (out / "edge_study.json").write_text(json.dumps(meta, indent=2))
    print(f"wrote {out}/edge_study.npz and edge_study.json ({time.time() - t0:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
