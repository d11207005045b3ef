"""Command line: ``htrmt vsdl ...`` and ``python -m vsdl ...``.

``diagram`` computes a phase diagram (theory on a grid, Monte Carlo through the resumable sweep
runner), saves it as ``diagram.npz`` + ``diagram.json`` in the output folder and plots it.
``critical`` prints the first-order transitions and the large-α constants of the theories.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from htrmt._cli.vsdl import QUICK, add_arguments

__all__ = ["add_arguments", "run", "main", "compute_diagram", "load_diagram", "QUICK"]


def _grid(spec: str, name: str) -> np.ndarray:
    """``lo:hi:num`` (linear) or ``lo:hi:num:log`` or a comma list."""
    try:
        if ":" in spec:
            parts = spec.split(":")
            lo, hi, num = float(parts[0]), float(parts[1]), int(parts[2])
            if len(parts) > 3 and parts[3] == "log":
                return np.geomspace(lo, hi, num)
            return np.linspace(lo, hi, num)
        return np.asarray([float(x) for x in spec.split(",")])
    except (ValueError, IndexError):
        raise ValueError(
            f"--{name} must be lo:hi:num[:log] or a comma-separated list, got {spec!r}"
        ) from None


def compute_diagram(args: argparse.Namespace) -> tuple[Any, Path]:
    """Compute (or resume) the diagram described by parsed ``diagram`` arguments; save it."""
    import jax

    from htrmt.sweep import atomic_write_json, environment

    from . import _diagram

    model = args.model
    theory = args.theory or "quenched"
    alpha = _grid(args.alpha, "alpha")
    tau = _grid(args.tau, "tau")
    n, replicas, sweeps = args.n, args.replicas, args.sweeps
    if args.quick:
        n, replicas, sweeps = QUICK["n"], QUICK["replicas"], QUICK["sweeps"]
        alpha = np.linspace(alpha.min(), alpha.max(), QUICK["na"])
        tau = np.linspace(tau.min(), tau.max(), QUICK["nt"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sim = None
    if not args.no_mc:
        if np.any(tau <= 0):
            raise ValueError(f"Monte Carlo needs tau > 0 on the grid, got tau={tau.tolist()}")
        sim = _diagram.simulate_diagram(
            jax.random.key(args.seed),
            alpha,
            tau,
            n=n,
            model=model,
            replicas=replicas,
            sweeps=sweeps,
            burn_in=args.burn_in,
            out=out / "sweep",
            progress=args.progress,
        )
    t_mc = time.perf_counter() - t0
    dgm = _diagram.phase_diagram(
        alpha, tau, model=model, theory=theory, good_error=args.good_error, simulation=sim
    )
    arrays = {
        "alpha": dgm.alpha,
        "tau": dgm.tau,
        "epsilon_theory": dgm.epsilon,
        "phase": dgm.phase,
        "num_stable": dgm.num_stable,
    }
    for name, (tl, al) in dgm.lines.items():
        arrays[f"line_{name}_tau"] = np.asarray(tl, float)
        arrays[f"line_{name}_alpha"] = np.asarray(al, float)
    if sim is not None:
        for f in (
            "epsilon",
            "epsilon_err",
            "overlap",
            "train_error",
            "acceptance",
            "tau_int",
            "drift",
            "equilibrated",
        ):
            arrays[f"mc_{f}"] = np.asarray(getattr(sim, f))
    np.savez(out / "diagram.npz", **arrays)
    meta = {
        "model": model,
        "theory": theory,
        "good_error": args.good_error,
        "seed": args.seed,
        "n": n,
        "replicas": replicas,
        "sweeps": sweeps,
        "burn_in": args.burn_in if args.burn_in is not None else sweeps // 2,
        "monte_carlo": sim is not None,
        "quick": bool(args.quick),
        "x64": bool(jax.config.jax_enable_x64),
        "phases": list(_diagram.PHASES),
        "seconds_monte_carlo": t_mc,
        "environment": environment(),
        "equilibrated_fraction": float(np.mean(sim.equilibrated)) if sim is not None else None,
    }
    atomic_write_json(out / "diagram.json", meta)
    return dgm, out


def load_diagram(out: str | os.PathLike):
    """Read a saved diagram back as a :class:`vsdl.PhaseDiagram` (for plotting)."""
    from ._diagram import PhaseDiagram
    from ._simulation import MonteCarloResult

    out = Path(out)
    z = np.load(out / "diagram.npz")
    meta = json.loads((out / "diagram.json").read_text())
    lines = {}
    for k in z.files:
        if k.startswith("line_") and k.endswith("_tau"):
            name = k[5:-4]
            lines[name] = (z[k], z[f"line_{name}_alpha"])
    sim = None
    if meta["monte_carlo"]:
        A, T = np.meshgrid(z["alpha"], z["tau"])
        sim = MonteCarloResult(
            alpha=A,
            tau=T,
            epsilon=z["mc_epsilon"],
            epsilon_err=z["mc_epsilon_err"],
            epsilon_replicas=np.empty(A.shape + (0,)),
            overlap=z["mc_overlap"],
            train_error=z["mc_train_error"],
            acceptance=z["mc_acceptance"],
            tau_int=z["mc_tau_int"],
            drift=z["mc_drift"],
            equilibrated=z["mc_equilibrated"],
            n=int(meta["n"]),
            n_measure=int(meta["sweeps"]) - int(meta["burn_in"]),
            model=meta["model"],
        )
    return PhaseDiagram(
        z["alpha"],
        z["tau"],
        meta["model"],
        meta["theory"],
        float(meta["good_error"]),
        z["epsilon_theory"],
        z["phase"],
        z["num_stable"],
        lines,
        sim,
    ), meta


def _run_diagram(args: argparse.Namespace) -> int:
    if args.x64:
        import jax

        jax.config.update("jax_enable_x64", True)
    dgm, out = compute_diagram(args)
    sim = dgm.simulation
    print(
        f"vsdl diagram: {dgm.model}, {dgm.theory} theory, {dgm.alpha.size}×{dgm.tau.size} points "
        f"-> {out / 'diagram.npz'}"
    )
    for name, (tl, al) in dgm.lines.items():
        print(
            f"  {name}: " + ", ".join(f"τ={t:.3g}: α={a:.4g}" for t, a in zip(tl, al, strict=True))
        )
    if sim is not None:
        eq = np.asarray(sim.equilibrated)
        print(
            f"  Monte Carlo N={sim.n}: acceptance {np.min(sim.acceptance):.3g}..."
            f"{np.max(sim.acceptance):.3g}, tau_int up to {np.max(sim.tau_int):.3g} sweeps, "
            f"{int(eq.sum())}/{eq.size} points equilibrated"
        )
        if not eq.all():
            print(
                "  warning: some points did not equilibrate (crossed out in the plot); "
                "use more --sweeps",
                file=sys.stderr,
            )
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ._plot import plot_diagram

        ax = plot_diagram(dgm)
        path = Path(args.plot) if args.plot else out / "diagram.png"
        ax.figure.savefig(path, dpi=130)
        plt.close(ax.figure)
        print(f"  plot: {path}")
    return 0


def _run_critical(args: argparse.Namespace) -> int:
    from . import theory as th

    tau = _grid(args.tau, "tau")
    print("Ising perceptron, first-order transition to perfect generalization:")
    q = th.critical_load(model="ising", theory="quenched")
    print(
        f"  quenched RS, τ=0:  α_c = {float(q.alpha_c):.5f}  spinodal {float(q.alpha_spinodal):.5f}"
        "  (literature 1.245, 1.49)"
    )
    for theory in ("quenched", "annealed"):
        a = th.critical_load(model="ising", theory=theory, tau=tau)
        for t, ac, sp in zip(
            np.atleast_1d(tau),
            np.atleast_1d(a.alpha_c),
            np.atleast_1d(a.alpha_spinodal),
            strict=True,
        ):
            if theory == "quenched" and t == 0:
                continue
            print(
                f"  {theory}, τ={t:.3g}:  α_c = {ac:.5f}  spinodal {sp:.5f}"
                + ("  (literature 1.448)" if t == 0 else "")
            )
    h = th.critical_load(model="ising", theory="high_temperature")
    print(
        f"  high temperature: (α/τ)_c = {float(h.alpha_c):.5f}  "
        f"spinodal {float(h.alpha_spinodal):.5f}"
    )
    print("Spherical perceptron, Gibbs learning at τ=0, ε·α at α = 1000:")
    for theory, lit in (("quenched", 0.625), ("annealed", 1.0)):
        e = float(th.generalization_error(1000.0, 0.0, model="spherical", theory=theory))
        print(f"  {theory}: {1000.0 * e:.5f}  (literature {lit})")
    return 0


def run(args: argparse.Namespace) -> int:
    """Dispatch a parsed ``vsdl`` command line (its action is in ``args.vsdl_command``)."""
    actions = {"diagram": _run_diagram, "critical": _run_critical}
    action = actions.get(getattr(args, "vsdl_command", None) or "")
    if action is None:
        print("usage: vsdl {diagram,critical} ... (see --help)", file=sys.stderr)
        return 2
    return int(action(args) or 0)


def main(argv: list[str] | None = None) -> int:
    """``python -m vsdl``."""
    p = argparse.ArgumentParser(prog="python -m vsdl", description="The VSDL model: phase diagrams")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"vsdl: error: {err}", file=sys.stderr)
        return 2
