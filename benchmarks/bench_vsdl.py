"""Benchmark: VSDL phase diagrams, theory (64×64) and Monte Carlo (N = 100).

Theory: ``vsdl.phase_diagram`` on a 64×64 (α, τ) grid (Ising annealed: every saddle-point
branch, transition and spinodal lines; spherical quenched RS at τ > 0), against the naive
peer: brute-force maximisation of the annealed free entropy on a 20001-point overlap grid per
(α, τ) point (numpy, same process, same grid); the answers are checked against each other and
against the literature numbers first.

Monte Carlo: Gibbs learning of N = 100 Ising perceptrons on an 8×6 (α, τ) grid, 4 replicas,
400 sweeps: one vmapped program (``gibbs_learning``), compile excluded, and the resumable sweep
runner (``simulate_diagram(out=...)``, compile included). ``--devices K`` runs the sweep path with
K forced host devices (replicas sharded over them) in a subprocess for the scaling table.

Threads: OPENBLAS/OMP = 1 and XLA CPU single-threaded eigen, for both sides.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
_flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
if "--devices" in os.sys.argv:
    k = int(os.sys.argv[os.sys.argv.index("--devices") + 1])
    _flags += f" --xla_force_host_platform_device_count={k}"
os.environ["XLA_FLAGS"] = _flags

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import numpy as np  # noqa: E402

if "--devices" in sys.argv:  # newer jax: the XLA flag is superseded by jax_num_cpu_devices
    try:
        jax.config.update("jax_num_cpu_devices", int(sys.argv[sys.argv.index("--devices") + 1]))
    except AttributeError:  # pragma: no cover - older jax uses the XLA flag above
        pass
from _timing import median_time  # noqa: E402
from scipy import special  # noqa: E402

import vsdl  # noqa: E402
from vsdl import simulation as sim  # noqa: E402
from vsdl import theory as th  # noqa: E402


def brute_force(alpha, tau, model):
    """The naive peer: evaluate f(R) on a dense overlap grid at every point and take the max."""
    R = 1 - np.geomspace(1e-10, 1, 20001)[::-1]
    R = np.concatenate([R, [1.0]]) if model == "ising" else R
    if model == "ising":
        p, pm = (1 + R) / 2, (1 - R) / 2
        s = -special.xlogy(p, p) - special.xlogy(pm, pm)
    else:
        s = 0.5 * np.log1p(-R * R)
    eps_R = np.arccos(np.clip(R, -1, 1)) / np.pi
    out = np.empty(alpha.shape)
    for idx in np.ndindex(alpha.shape):
        t = tau[idx]
        c = 1.0 if t == 0 else -math.expm1(-1 / t)
        out[idx] = eps_R[np.argmax(s + alpha[idx] * np.log1p(-c * eps_R))]
    return out


def theory_bench(reps):
    a = np.geomspace(0.1, 5.0, 64)
    t = np.linspace(0.0, 2.0, 64)
    A, T = np.meshgrid(a, t)
    # correctness first
    assert abs(float(th.critical_load(model="ising", theory="quenched").alpha_c) - 1.245) < 5e-4
    assert abs(float(th.critical_load(model="ising", theory="annealed").alpha_c) - 1.448) < 5e-4
    rows = []
    for model in ("ising", "spherical"):
        ours = th.generalization_error(A, T, model=model, theory="annealed")
        peer = brute_force(A, T, model)
        err = float(np.max(np.abs(ours - peer)))
        assert err < 2e-3, err
        t_ours = median_time(
            lambda model=model: vsdl.phase_diagram(a, t, model=model, theory="annealed"), reps
        )
        t_eps = median_time(lambda model=model: th.generalization_error(A, T, model=model), reps)
        t_peer = median_time(lambda model=model: brute_force(A, T, model), max(1, reps // 2))
        rows.append((f"{model} annealed 64×64", t_ours, t_eps, t_peer, err))
    t_rs = median_time(lambda: vsdl.phase_diagram(a, t, model="spherical", theory="quenched"), 1)
    rows.append(
        ("spherical quenched RS (q≠R) 64×64", t_rs, float("nan"), float("nan"), float("nan"))
    )
    t_ri = median_time(lambda: vsdl.phase_diagram(a, t, model="ising", theory="quenched"), 1)
    rows.append(("ising quenched RS (q≠R) 64×64", t_ri, float("nan"), float("nan"), float("nan")))
    return rows


def mc_bench(devices=None):
    a = np.linspace(0.5, 3.0, 8)
    t = np.linspace(0.25, 1.5, 6)
    A, T = np.meshgrid(a, t)
    n, reps, sweeps = 100, 4, 400
    key = jax.random.key(0)
    t0 = time.perf_counter()
    sim.gibbs_learning(key, A, T, n=n, model="ising", replicas=reps, sweeps=sweeps)
    t_first = time.perf_counter() - t0  # compile + run
    t0 = time.perf_counter()
    res = sim.gibbs_learning(key, A, T, n=n, model="ising", replicas=reps, sweeps=sweeps)
    t_run = time.perf_counter() - t0
    t_compile = t_first - t_run
    # sanity: poor at small α and high τ; perfect at α = 3, τ = 0.75 (beyond the spinodal)
    assert res.epsilon[-1, 0] > 0.4 and res.epsilon[2, -1] < 0.05, res.epsilon
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        vsdl.simulate_diagram(
            key,
            a,
            t,
            n=n,
            model="ising",
            replicas=reps,
            sweeps=sweeps,
            out=f"{tmp}/s",
            devices=devices,
        )
        t_sweep = time.perf_counter() - t0
    return dict(
        points=A.size,
        replicas=reps,
        sweeps=sweeps,
        n=n,
        compile_s=t_compile,
        run_s=t_run,
        sweep_runner_s=t_sweep,
        flips_per_s=A.size * reps * sweeps * n / t_run,
        equilibrated=float(np.mean(res.equilibrated)),
        devices=len(jax.devices()),
    )


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--devices", type=int, default=None, help="(internal) forced host devices")
    ap.add_argument(
        "--scaling", action="store_true", help="also run the sweep path on 1 and 2 devices"
    )
    ap.add_argument("--theory-only", action="store_true")
    args = ap.parse_args(argv)
    if args.devices is not None:
        print(json.dumps(mc_bench(devices=args.devices)))
        return 0
    print(
        f"backend {jax.default_backend()}, devices {len(jax.devices())}, jax {jax.__version__}, "
        f"x64 {jax.config.jax_enable_x64}; threads: OPENBLAS/OMP=1, XLA eigen single-threaded"
    )
    print("\n## theory: 64×64 (α, τ) grid")
    print(
        f"{'case':36s} {'phase_diagram s':>15s} {'eps only s':>11s} {'brute force s':>14s} "
        f"{'ratio':>7s} {'max|Δε|':>9s}"
    )
    for name, t_d, t_e, t_p, err in theory_bench(args.reps):
        ratio = t_p / t_e if np.isfinite(t_p) else float("nan")
        print(f"{name:36s} {t_d:15.3f} {t_e:11.3f} {t_p:14.3f} {ratio:7.1f} {err:9.1e}")
    if args.theory_only:
        return 0
    print("\n## Monte Carlo: Ising, N=100, 8×6 grid, 4 replicas, 400 sweeps (float32)")
    r = mc_bench()
    print(json.dumps(r, indent=1))
    if args.scaling:
        print("\n## sweep runner with forced host devices (replicas sharded)")
        for k in (1, 2):
            out = subprocess.run(
                [sys.executable, __file__, "--devices", str(k)],
                capture_output=True,
                text=True,
                check=True,
            )
            rk = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"devices={k}: vmapped run {rk['run_s']:.2f} s, sweep runner "
                f"{rk['sweep_runner_s']:.2f} s (compile included)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
